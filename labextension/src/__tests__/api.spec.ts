import { ServerConnection } from '@jupyterlab/services';

import { MsalApiError, MsalClient } from '../api';

interface ISeen {
  url: string;
  method: string;
  body: string | null;
  headers: Headers;
}

function makeClient(
  respond: (req: ISeen) => Response | Promise<Response>,
  baseUrl = 'http://localhost:8888/lab-base/'
) {
  const seen: ISeen[] = [];
  const fetchImpl = async (input: RequestInfo, init?: RequestInit) => {
    const request = new Request(input as any, init);
    const body = request.method === 'GET' ? null : await request.text();
    const entry: ISeen = {
      url: request.url,
      method: request.method,
      body: body || null,
      headers: request.headers
    };
    seen.push(entry);
    if (request.signal?.aborted) {
      const error = new Error('aborted');
      error.name = 'AbortError';
      throw error;
    }
    return respond(entry);
  };
  const serverSettings = ServerConnection.makeSettings({
    baseUrl,
    wsUrl: baseUrl.replace('http', 'ws'),
    fetch: fetchImpl as any
  });
  return { client: new MsalClient({ serverSettings }), seen };
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' }
  });
}

describe('MsalClient', () => {
  it('reads accounts below base_url/jupyter-msal/', async () => {
    const { client, seen } = makeClient(() =>
      json({ accounts: [], revision: 7 })
    );
    const answer = await client.accounts();
    expect(answer.revision).toBe(7);
    expect(seen).toHaveLength(1);
    expect(seen[0].method).toBe('GET');
    expect(seen[0].url).toBe(
      'http://localhost:8888/lab-base/jupyter-msal/accounts'
    );
  });

  it('reads status', async () => {
    const { client, seen } = makeClient(() =>
      json({ accounts: [], revision: 1, version: '0.1.0' })
    );
    expect((await client.status()).version).toBe('0.1.0');
    expect(seen[0].url).toMatch(/\/jupyter-msal\/status$/);
  });

  it('signs out of one account with the id URL-encoded', async () => {
    const { client, seen } = makeClient(() =>
      json({ removed: [], accounts: [], revision: 2 })
    );
    await client.signOut('ada@contoso.com');
    expect(seen[0].method).toBe('DELETE');
    expect(seen[0].url).toBe(
      'http://localhost:8888/lab-base/jupyter-msal/accounts/ada%40contoso.com'
    );
    await client.signOut('a/b?c');
    expect(seen[1].url).toMatch(/\/accounts\/a%2Fb%3Fc$/);
  });

  it('signs out of all accounts', async () => {
    const { client, seen } = makeClient(() =>
      json({ removed: [], accounts: [], revision: 2 })
    );
    await client.signOutAll();
    expect(seen[0].method).toBe('DELETE');
    expect(seen[0].url).toMatch(/\/jupyter-msal\/accounts$/);
  });

  it('starts a sign-in with a JSON body', async () => {
    const { client, seen } = makeClient(() =>
      json({ id: 'f1', state: 'pending' }, 202)
    );
    const flow = await client.startSignIn({
      method: 'device_code',
      scopes: ['User.Read']
    });
    expect(flow.id).toBe('f1');
    expect(seen[0].method).toBe('POST');
    expect(seen[0].url).toMatch(/\/jupyter-msal\/sign-ins$/);
    expect(JSON.parse(seen[0].body!)).toEqual({
      method: 'device_code',
      scopes: ['User.Read']
    });
    expect(seen[0].headers.get('Content-Type')).toBe('application/json');
  });

  it('omits empty scopes and method', async () => {
    const { client, seen } = makeClient(() =>
      json({ id: 'f1', state: 'pending' }, 202)
    );
    await client.startSignIn({ scopes: [] });
    expect(JSON.parse(seen[0].body!)).toEqual({});
  });

  it('long-polls a sign-in with a clamped wait', async () => {
    const { client, seen } = makeClient(() =>
      json({ id: 'f 1', state: 'pending' })
    );
    await client.getSignIn('f 1', { wait: 10 });
    await client.getSignIn('f 1', { wait: 99 });
    await client.getSignIn('f 1');
    expect(seen[0].url).toMatch(/\/jupyter-msal\/sign-ins\/f%201\?wait=10$/);
    expect(seen[1].url).toMatch(/\?wait=30$/);
    expect(seen[2].url).toMatch(/\/sign-ins\/f%201$/);
  });

  it('cancels and lists sign-ins', async () => {
    const { client, seen } = makeClient(req =>
      req.method === 'DELETE'
        ? json({ id: 'f1', state: 'cancelled' })
        : json({ sign_ins: [{ id: 'f1', state: 'pending' }] })
    );
    expect((await client.cancelSignIn('f1')).state).toBe('cancelled');
    expect(seen[0].method).toBe('DELETE');
    expect(seen[0].url).toMatch(/\/jupyter-msal\/sign-ins\/f1$/);
    expect(await client.listSignIns()).toHaveLength(1);
  });

  it('turns an error answer into MsalApiError with its fields', async () => {
    const { client } = makeClient(() =>
      json(
        {
          error: 'identity_provider_error',
          message:
            'AADSTS53003: Access has been blocked by Conditional Access policies.',
          hint: 'Ask your administrator.',
          aadsts: '53003'
        },
        502
      )
    );
    const error = await client.startSignIn().catch(e => e);
    expect(error).toBeInstanceOf(MsalApiError);
    expect(error.status).toBe(502);
    expect(error.code).toBe('identity_provider_error');
    expect(error.aadsts).toBe('53003');
    expect(error.hint).toBe('Ask your administrator.');
    expect(error.message).toMatch(/Conditional Access/);
    expect(error.toBody().error).toBe('identity_provider_error');
  });

  it('explains a 404 without a JSON body (extension missing)', async () => {
    const { client } = makeClient(
      () => new Response('<html>Not found</html>', { status: 404 })
    );
    const error = await client.accounts().catch(e => e);
    expect(error.status).toBe(404);
    expect(error.code).toBe('not_found');
    expect(error.message).toMatch(/server extension/);
  });

  it('keeps the reason of a server whose jupyter-msal is inactive', async () => {
    const message =
      'jupyter-msal is not active on this server: JupyterMsal.authority: bad';
    const { client } = makeClient(() =>
      json({ error: 'inactive', message, hint: 'Restart it.' }, 503)
    );
    const error = await client.accounts().catch(e => e);
    expect(error.status).toBe(503);
    expect(error.code).toBe('inactive');
    expect(error.message).toBe(message);
    expect(error.hint).toBe('Restart it.');
  });

  it('reports an unreachable server as status 0', async () => {
    const { client } = makeClient(() => {
      throw new TypeError('Failed to fetch');
    });
    const error = await client.accounts().catch(e => e);
    expect(error).toBeInstanceOf(MsalApiError);
    expect(error.status).toBe(0);
    expect(error.code).toBe('network_error');
  });

  it('says the HTTP status when an error answer has no message', async () => {
    const { client } = makeClient(() => new Response('oops', { status: 500 }));
    const error = await client.accounts().catch(e => e);
    expect(error.status).toBe(500);
    expect(error.code).toBe('http_error');
    expect(error.message).toBe('The Jupyter server answered HTTP 500.');
    const { client: other } = makeClient(() =>
      json({ error: 'server_error' }, 503)
    );
    const coded = await other.accounts().catch(e => e);
    expect(coded.code).toBe('server_error');
    expect(coded.message).toBe('The Jupyter server answered HTTP 503.');
  });

  it('rejects a non-JSON success answer', async () => {
    const { client } = makeClient(() => new Response('hello', { status: 200 }));
    const error = await client.accounts().catch(e => e);
    expect(error.code).toBe('bad_response');
  });

  it('lets aborts through as AbortError', async () => {
    const { client } = makeClient(() => json({}));
    const controller = new AbortController();
    controller.abort();
    const error = await client
      .getSignIn('f1', { wait: 10, signal: controller.signal })
      .catch(e => e);
    expect(error.name).toBe('AbortError');
  });

  it('never requests an access token', async () => {
    const { client, seen } = makeClient(() => json({ access_token: 'x' }));
    await expect(client.request('POST', 'token', {})).rejects.toThrow(
      /access tokens/
    );
    await expect(client.request('POST', '/token?x=1', {})).rejects.toThrow();
    expect(seen).toHaveLength(0);
    expect(Object.getOwnPropertyNames(MsalClient.prototype)).not.toContain(
      'token'
    );
  });
});
