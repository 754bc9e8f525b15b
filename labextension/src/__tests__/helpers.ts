/**
 * Test doubles shared by the unit tests.
 */
import { ISettingRegistry, SettingRegistry } from '@jupyterlab/settingregistry';

import schema from '../../schema/plugin.json';
import {
  IAccount,
  IAccountsResponse,
  IFlow,
  IMsalClient,
  ISignOutResponse,
  IStatus
} from '../api';
import { ITimers } from '../model/signInSession';

export const ADA: IAccount = {
  home_account_id: 'uid-ada.utid-1',
  username: 'ada@contoso.com',
  tenant_id: 'utid-1',
  environment: 'login.microsoftonline.com',
  authority: 'https://login.microsoftonline.com/organizations'
};

export const BOB: IAccount = {
  home_account_id: 'uid-bob.utid-1',
  username: 'bob@contoso.com',
  tenant_id: 'utid-1'
};

export function flow(partial: Partial<IFlow> = {}): IFlow {
  return {
    id: 'f1',
    method: 'device_code',
    state: 'pending',
    user_code: 'ABCD-1234',
    verification_uri: 'https://microsoft.com/devicelogin',
    message: 'To sign in, use a web browser…',
    expires_on: 1000 + 900,
    created_on: 1000,
    scopes: [],
    account: null,
    error: null,
    fallback_reason: null,
    ...partial
  };
}

export function status(partial: Partial<IStatus> = {}): IStatus {
  return {
    version: '0.1.0',
    mode: 'user',
    config: {
      client_id: '04b07795-8ddb-461a-bbee-02f9e1bf7b46',
      authority: 'https://login.microsoftonline.com/organizations',
      client_secret_set: false
    },
    cache: {
      path: '/home/u/.cache.bin',
      encrypted: false,
      encryption: 'none',
      warnings: []
    },
    broker: { available: false, reason: 'pymsalruntime is not installed' },
    sign_in_methods: ['device_code'],
    accounts: [],
    revision: 0,
    warnings: [],
    ...partial
  };
}

type Answer<T> = T | Error | (() => T | Promise<T>);

async function answer<T>(queue: Answer<T>[], fallback?: Answer<T>): Promise<T> {
  const next = queue.length ? queue.shift()! : fallback;
  if (next === undefined) {
    throw new Error('no scripted answer left');
  }
  if (next instanceof Error) {
    throw next;
  }
  if (typeof next === 'function') {
    return (next as () => T | Promise<T>)();
  }
  return next;
}

/** A scripted client: each method answers from its queue. */
export class FakeClient implements IMsalClient {
  calls: string[] = [];
  statusAnswers: Answer<IStatus>[] = [];
  accountsAnswers: Answer<IAccountsResponse>[] = [];
  accountsFallback: Answer<IAccountsResponse> | undefined;
  signOutAnswers: Answer<ISignOutResponse>[] = [];
  startAnswers: Answer<IFlow>[] = [];
  getAnswers: Answer<IFlow>[] = [];
  cancelAnswers: Answer<IFlow>[] = [];
  completeAnswers: Answer<IFlow>[] = [];
  lastStart: any = null;
  lastWait: number | undefined;
  lastSignal: AbortSignal | undefined;

  status(): Promise<IStatus> {
    this.calls.push('status');
    return answer(this.statusAnswers);
  }
  accounts(): Promise<IAccountsResponse> {
    this.calls.push('accounts');
    return answer(this.accountsAnswers, this.accountsFallback);
  }
  signOut(account: string): Promise<ISignOutResponse> {
    this.calls.push(`signOut:${account}`);
    return answer(this.signOutAnswers);
  }
  signOutAll(): Promise<ISignOutResponse> {
    this.calls.push('signOutAll');
    return answer(this.signOutAnswers);
  }
  startSignIn(options?: any): Promise<IFlow> {
    this.calls.push('startSignIn');
    this.lastStart = options;
    return answer(this.startAnswers);
  }
  getSignIn(
    id: string,
    options?: { wait?: number; since?: number; signal?: AbortSignal }
  ): Promise<IFlow> {
    this.calls.push(`getSignIn:${id}`);
    this.lastWait = options?.wait;
    this.lastSignal = options?.signal;
    return answer(this.getAnswers);
  }
  listSignIns(): Promise<IFlow[]> {
    this.calls.push('listSignIns');
    return Promise.resolve([]);
  }
  cancelSignIn(id: string): Promise<IFlow> {
    this.calls.push(`cancelSignIn:${id}`);
    return answer(this.cancelAnswers);
  }
  completeSignIn(id: string, url: string): Promise<IFlow> {
    this.calls.push(`completeSignIn:${id}:${url}`);
    return answer(this.completeAnswers);
  }
}

/** Timers that fire on the next microtask (recording the delays asked for). */
/** A scripted client whose `times` holds when each `GET accounts` was sent. */
export function countingClient(): { client: FakeClient; times: number[] } {
  const client = new FakeClient();
  const times: number[] = [];
  const accounts = client.accounts.bind(client);
  client.accounts = () => {
    times.push(Date.now());
    return accounts();
  };
  return { client, times };
}

export class ImmediateTimers implements ITimers {
  delays: number[] = [];
  setTimeout(cb: () => void, ms: number): number {
    this.delays.push(ms);
    void Promise.resolve().then(cb);
    return this.delays.length;
  }
  clearTimeout(): void {
    /* fires anyway: callers check their state */
  }
}

/**
 * Make the page look hidden or visible, as the browser does when the user
 * switches tabs: `document.visibilityState` and a `visibilitychange` event.
 */
export function setPageHidden(hidden: boolean): void {
  Object.defineProperty(document, 'visibilityState', {
    configurable: true,
    get: () => (hidden ? 'hidden' : 'visible')
  });
  document.dispatchEvent(new Event('visibilitychange'));
}

/** Let pending promise callbacks run. */
export async function flush(times = 10): Promise<void> {
  for (let i = 0; i < times; i++) {
    await Promise.resolve();
  }
}

/**
 * A settings registry holding the plugin's real schema and `user` as the
 * user's settings, as JupyterLab's would.
 */
export function settingRegistry(
  user: { [key: string]: unknown } = {}
): SettingRegistry {
  let raw = JSON.stringify(user);
  const connector: SettingRegistry.IOptions['connector'] = {
    fetch: async (id: string) => ({
      id,
      raw,
      schema: schema as ISettingRegistry.ISchema,
      version: 'test',
      data: { composite: {}, user: {} }
    }),
    list: async () => ({ ids: [], values: [] }),
    save: async (id: string, value: string) => {
      raw = value;
    },
    remove: async () => undefined
  };
  return new SettingRegistry({ connector });
}

/** Wait (up to a second) until `condition` holds. */
export async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !condition(); i++) {
    await new Promise(resolve => setTimeout(resolve, 10));
  }
}
