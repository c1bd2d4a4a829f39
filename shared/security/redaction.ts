/**
 * Masks credentials in text bound for a log: JWTs (access tokens), `Bearer …`, storage `AccountKey=` and SAS
 * `sig=`, `SharedAccessSignature=`, OAuth form fields (`client_secret=`, `client_assertion=`, `access_token`),
 * function keys (`code=`, `x-functions-key`). A last line of defence: the code is written not to log these at
 * all (SecretValue, msal's PII logging off), and test/security/logScan.test.ts checks the whole output of a run.
 */

const mask = '[redacted]';

/** Each pattern keeps its first group (the name) and masks the rest of the match. */
const secretPatterns: readonly RegExp[] = [
  /(Bearer\s+)[A-Za-z0-9\-._~+/]+=*/gi,
  /()\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g,
  /(AccountKey=)[^;"'\s]+/gi,
  /(SharedAccessSignature=)[^;"'\s]+/gi,
  /([?&;\s"']sig=)[^&;"'\s]+/gi,
  /\b((?:client_secret|client_assertion|access_token|refresh_token|code)=)[^&;"'\s]+/gi,
  /("(?:client_secret|client_assertion|access_token|refresh_token|accessToken|clientSecret|password)"\s*:\s*")[^"]*/gi,
  /((?:x-functions-key|authorization|x-identity-header)["']?\s*[:=]\s*["']?)[^"',;\s}]+/gi,
];

export function redactSecrets(text: string): string {
  return secretPatterns.reduce(
    (out, pattern) => out.replace(pattern, (_match, name: string) => `${name}${mask}`),
    text,
  );
}

/** Whether the text holds something that looks like a credential (the log scan uses the same patterns). */
export function looksSecret(text: string): boolean {
  return secretPatterns.some((pattern) => {
    pattern.lastIndex = 0;
    const hit = pattern.test(text);
    pattern.lastIndex = 0;
    return hit;
  });
}
