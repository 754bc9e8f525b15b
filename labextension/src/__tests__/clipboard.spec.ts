import { copyText } from '../util/clipboard';

function fakeWindow(options: {
  secure: boolean;
  writeText?: (t: string) => Promise<void>;
  execCommand?: (cmd: string) => boolean;
}): Window {
  document.execCommand = (options.execCommand ?? (() => false)) as any;
  return {
    isSecureContext: options.secure,
    navigator: {
      clipboard: options.writeText
        ? { writeText: options.writeText }
        : undefined
    },
    document
  } as unknown as Window;
}

describe('copyText', () => {
  it('uses the clipboard API in a secure context', async () => {
    const written: string[] = [];
    const win = fakeWindow({
      secure: true,
      writeText: async t => {
        written.push(t);
      }
    });
    expect(await copyText('ABCD-1234', null, win)).toBe('clipboard');
    expect(written).toEqual(['ABCD-1234']);
  });

  it('selects the input and uses execCommand when not secure', async () => {
    const commands: string[] = [];
    const win = fakeWindow({
      secure: false,
      writeText: async () => {
        throw new Error('must not be used');
      },
      execCommand: cmd => {
        commands.push(cmd);
        return true;
      }
    });
    const input = document.createElement('input');
    input.readOnly = true;
    input.value = 'ABCD-1234';
    document.body.appendChild(input);
    expect(await copyText('ABCD-1234', input, win)).toBe('execCommand');
    expect(commands).toEqual(['copy']);
    expect(input.selectionStart).toBe(0);
    expect(input.selectionEnd).toBe(9);
    input.remove();
  });

  it('falls back when the clipboard API refuses', async () => {
    const win = fakeWindow({
      secure: true,
      writeText: async () => {
        throw new Error('denied');
      },
      execCommand: () => true
    });
    expect(await copyText('X', null, win)).toBe('execCommand');
    expect(document.querySelectorAll('input')).toHaveLength(0);
  });

  it('says when the user must copy by hand', async () => {
    const win = fakeWindow({
      secure: false,
      execCommand: () => {
        throw new Error('not supported');
      }
    });
    expect(await copyText('X', null, win)).toBe('manual');
  });
});
