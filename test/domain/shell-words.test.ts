import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { digCommand } from '../../lambda/domain/findings';
import {
  digCommandLine,
  isCommandDnsName,
  sesv2Command,
  shellCommand,
  shellWord,
} from '../../lambda/domain/shell-words';
import { recordedCalls } from '../support/shell';

/** Any string a command-line argument can hold: every code point but NUL (argv strings end at NUL). */
const argument = fc
  .oneof(
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({ unit: fc.constantFrom(...`'"\`$()|;&<>\\ \n\t*?[]{}~!#=%+@`.split('')), maxLength: 20 }),
    fc.constantFrom('$(touch /tmp/pwned)', '`id`', "'; rm -rf / #", "it's", '', '-n', '$HOME', 'a\nb', 'ü€😀'),
  )
  .filter((s) => !s.includes('\0') && !/\p{Cs}/u.test(s));

const label = fc.stringMatching(/^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/);
const dnsName = fc.array(label, { minLength: 1, maxLength: 5 }).map((labels) => labels.join('.'));

describe('shellWord', () => {
  it('leaves plain words readable and single-quotes everything else', () => {
    expect(shellCommand(['dig', '+noall', '+answer', 'abc._domainkey.example.com', 'CNAME'])).toBe(
      'dig +noall +answer abc._domainkey.example.com CNAME',
    );
    expect(shellWord('@192.0.2.1')).toBe('@192.0.2.1');
    expect(shellWord('2001:db8::1')).toBe('2001:db8::1');
    expect(shellWord('')).toBe("''");
    expect(shellWord("it's")).toBe(`'it'\\''s'`);
    expect(shellWord('$(touch /tmp/pwned)')).toBe("'$(touch /tmp/pwned)'");
    expect(shellWord('a`id`b')).toBe("'a`id`b'");
  });

  it('reads back through bash as exactly the original bytes, for any string', () => {
    // One bash process per batch of samples keeps this fast.
    fc.assert(
      fc.property(fc.array(argument, { minLength: 1, maxLength: 60 }), (words) => {
        const calls = recordedCalls(words.map((w) => `record ${shellWord(w)}`).join('\n'));
        expect(calls).toEqual(words.map((w) => [w]));
      }),
      { numRuns: 40 },
    );
  });

  it('keeps a whole command line as the same argument list, whatever the words', () => {
    fc.assert(
      fc.property(fc.array(fc.array(argument, { maxLength: 6 }), { minLength: 1, maxLength: 30 }), (commands) => {
        const calls = recordedCalls(commands.map((words) => shellCommand(['aws', ...words])).join('\n'));
        expect(calls).toEqual(commands.map((words) => ['aws', ...words]));
      }),
      { numRuns: 25 },
    );
  });
});

describe('isCommandDnsName', () => {
  it('accepts names of letter/digit/hyphen/underscore labels within the length limits', () => {
    fc.assert(
      fc.property(dnsName, (name) => {
        expect(isCommandDnsName(name)).toBe(name.length <= 253);
        if (name.length < 253) expect(isCommandDnsName(`${name.toUpperCase()}.`)).toBe(true);
      }),
    );
  });

  it('rejects any name holding another character', () => {
    const other = fc
      .string({ unit: 'binary', minLength: 1, maxLength: 3 })
      .filter((s) => /[^A-Za-z0-9_.-]/.test(s.replace(/\.$/, '')));
    fc.assert(
      fc.property(dnsName, other, fc.nat(), (name, bad, at) => {
        const i = at % (name.length + 1);
        expect(isCommandDnsName(`${name.slice(0, i)}${bad}${name.slice(i)}`)).toBe(false);
      }),
    );
  });

  it('rejects a label over 63 characters, a name over 253, empty labels and edge hyphens', () => {
    expect(isCommandDnsName(`${'a'.repeat(63)}.example.com`)).toBe(true);
    expect(isCommandDnsName(`${'a'.repeat(64)}.example.com`)).toBe(false);
    const long = Array.from({ length: 4 }, () => 'a'.repeat(63)).join('.');
    expect(long).toHaveLength(255);
    expect(isCommandDnsName(long.slice(2))).toBe(true);
    expect(isCommandDnsName(long)).toBe(false);
    for (const bad of ['', '.', 'a..b', '-a.com', 'a-.com', 'a b.com', 'a.com..']) {
      expect(isCommandDnsName(bad)).toBe(false);
    }
  });
});

describe('digCommand', () => {
  const server = { name: 'ns1.example.com', address: '192.0.2.9', port: 53, view: 'authoritative' as const };

  it('reads as before for plain names', () => {
    expect(digCommand('abc._domainkey.example.com', 'CNAME')).toBe(
      'dig +noall +answer abc._domainkey.example.com CNAME',
    );
    expect(digCommand('abc._domainkey.example.com', 'CNAME', { ...server, port: 5300 })).toBe(
      'dig @192.0.2.9 -p 5300 +norecurse +noall +answer +comments abc._domainkey.example.com CNAME',
    );
  });

  it('never puts a name that is not a DNS name into the command', () => {
    fc.assert(
      fc.property(argument, (name) => {
        const command = digCommand(name, 'TXT', server);
        if (isCommandDnsName(name)) expect(command.endsWith(` ${name} TXT`)).toBe(true);
        else expect(command).toMatch(/^# no command: [\x20-\x7e]*$/);
      }),
    );
  });

  it('asks dig exactly for the name, type and server it names, when run', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(argument, argument), { minLength: 1, maxLength: 40 }), (queries) => {
        const lines = queries.map(([name, type]) =>
          digCommandLine(name, type, { server: '2001:db8::53', options: ['+short'] }),
        );
        const calls = recordedCalls(lines.join('\n'));
        const expected = queries
          .filter(([name]) => isCommandDnsName(name))
          .map(([name, type]) => [
            'dig',
            '@2001:db8::53',
            '+short',
            name,
            /^[A-Z][A-Z0-9]{0,15}$/.test(type) ? type : 'ANY',
          ]);
        expect(calls).toEqual(expected);
      }),
      { numRuns: 25 },
    );
  });

  it('takes IPv4, IPv6 (with a zone) and host names as the server', () => {
    for (const server of ['192.0.2.1', '2001:db8::53', 'fe80::1%eth0', 'ns1.example.net']) {
      expect(digCommandLine('example.com', 'NS', { server, options: [] })).toBe(`dig @${server} example.com NS`);
    }
  });

  it('gives no command for a server that is neither an address nor a host name', () => {
    expect(digCommandLine('example.com', 'NS', { server: '$(id)', options: [] })).toMatch(/^# no command: /);
  });
});

describe('sesv2Command', () => {
  it('passes any printable identity to aws as one argument', () => {
    const printable = argument.filter((s) => s !== '' && !/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}\p{Cn}]/u.test(s));
    fc.assert(
      fc.property(fc.array(printable, { minLength: 1, maxLength: 40 }), (locals) => {
        const identities = locals.map((l) => `${l}@example.com`);
        const calls = recordedCalls(
          identities.map((id) => sesv2Command('get-email-identity', id, 'eu-west-1')).join('\n'),
        );
        expect(calls).toEqual(
          identities.map((id) => [
            'aws',
            'sesv2',
            'get-email-identity',
            // A local part starting with '-' is passed in the --flag=value form (see the next test).
            ...(id.startsWith('-') ? [`--email-identity=${id}`] : ['--email-identity', id]),
            '--region',
            'eu-west-1',
          ]),
        );
      }),
      { numRuns: 25 },
    );
  });

  it('keeps an identity starting with "-" a value, and gives no command for one a terminal cannot show', () => {
    expect(sesv2Command('get-email-identity', '-x@example.com', 'eu-west-1')).toBe(
      'aws sesv2 get-email-identity --email-identity=-x@example.com --region eu-west-1',
    );
    expect(sesv2Command('get-email-identity', 'a\u001b[2Jb@example.com', 'eu-west-1')).toMatch(/^# no command: /);
    expect(sesv2Command('get-email-identity', 'a$(id)|b@example.com', 'eu-west-1')).toBe(
      "aws sesv2 get-email-identity --email-identity 'a$(id)|b@example.com' --region eu-west-1",
    );
  });
});
