import { basicUserName } from '../../src/internal/basic-auth.js';

const header = (raw: string) => `Basic ${Buffer.from(raw).toString('base64')}`;

describe('basicUserName', () => {
  test('gives the form-decoded user name of a Basic header and never any part of the password', () => {
    expect(basicUserName(header('my%20client%3A1:s3cret:with:colons'))).toBe('my client:1');
    expect(basicUserName(header('svc+one:pw'))).toBe('svc one');
    expect(basicUserName(`basic   ${Buffer.from('a:b').toString('base64')}`)).toBe('a');
  });

  test('gives nothing for a value without a colon, which may be a bare secret', () => {
    expect(basicUserName(header('only-a-secret-value-0123456789'))).toBeUndefined();
    expect(basicUserName(header(':password-without-user'))).toBeUndefined();
  });

  test('gives nothing for anything that is not a well-formed Basic header', () => {
    expect(basicUserName(undefined)).toBeUndefined();
    expect(basicUserName(['Basic YTpi'])).toBeUndefined();
    expect(basicUserName('Bearer YTpi')).toBeUndefined();
    expect(basicUserName('Basic not base64!')).toBeUndefined();
    expect(basicUserName(header('%E0%A4%A:pw'))).toBeUndefined(); // broken percent-encoding
    expect(basicUserName(header(`${'u'.repeat(4000)}:pw`))).toBeUndefined(); // over the bound
  });
});
