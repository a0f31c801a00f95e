/**
 * `rpmkeys --checksig -v FILE` output, parsed (rpm 4.14-4.19 print the same shape):
 *
 *   /path/kernel-devel-5.14.0-362.el9.x86_64.rpm:
 *       Header V4 RSA/SHA256 Signature, key ID bbdfec8a: OK
 *       Header SHA256 digest: OK
 *       Payload SHA256 digest: OK
 *
 * A signature line ends in OK, NOKEY (signed by a key we do not trust), BAD (tampered) or
 * NOTTRUSTED/NOTFOUND; an unsigned package has digest lines only.
 */
export type SignatureVerdict = 'signed' | 'unsigned' | 'untrusted-key' | 'bad-signature' | 'bad-digest';

export interface ChecksigResult {
  verdict: SignatureVerdict;
  keyIds: string[];
  /** The lines that decided a non-`signed` verdict, for the error. */
  evidence: string[];
}

export function parseChecksigVerbose(output: string): ChecksigResult {
  const keyIds: string[] = [];
  const evidence: string[] = [];
  let signatures = 0;
  let verdict: SignatureVerdict | undefined;
  for (const raw of output.split('\n')) {
    const line = raw.trim();
    const sig = /Signature, key ID ([0-9a-f]+): (\w+)/i.exec(line);
    if (sig) {
      signatures++;
      keyIds.push(sig[1]!.toLowerCase());
      const status = sig[2]!.toUpperCase();
      if (status === 'BAD') verdict = 'bad-signature';
      else if (status !== 'OK' && verdict !== 'bad-signature') verdict = 'untrusted-key';
      if (status !== 'OK') evidence.push(line);
      continue;
    }
    const digest = /digest: (\w+)/i.exec(line);
    if (digest && digest[1]!.toUpperCase() !== 'OK') {
      verdict = verdict === 'bad-signature' ? verdict : 'bad-digest';
      evidence.push(line);
    }
  }
  if (!verdict) verdict = signatures > 0 ? 'signed' : 'unsigned';
  return { verdict, keyIds: [...new Set(keyIds)], evidence };
}

export function describeVerdict(file: string, r: ChecksigResult): string {
  switch (r.verdict) {
    case 'signed':
      return `${file}: signature OK (key ${r.keyIds.join(', ')})`;
    case 'unsigned':
      return `${file} is not signed`;
    case 'untrusted-key':
      return `${file} is signed with a key that is not trusted (key ID ${r.keyIds.join(', ')})`;
    case 'bad-signature':
      return `${file} has a BAD signature: it was changed after signing (${r.evidence.join('; ')})`;
    case 'bad-digest':
      return `${file} is damaged: ${r.evidence.join('; ')}`;
  }
}
