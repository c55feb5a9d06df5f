// Test certificates made with the openssl CLI (installed on every machine that runs the suite): EC
// P-256 keys, one day of validity, written into a temporary directory.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pem {
  cert: string;
  key: string;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A scratch directory of certificates; {@link CertFactory.cleanup} removes it. */
export class CertFactory {
  readonly dir = mkdtempSync(join(tmpdir(), 'tr-certs-'));
  #n = 0;

  /** A self-signed CA. */
  ca(cn: string): Pem {
    const base = join(this.dir, `ca-${this.#n++}`);
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        ...EC,
        '-keyout',
        `${base}.key`,
        '-out',
        `${base}.crt`,
        '-days',
        '1',
        '-subj',
        `/CN=${cn}`,
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ],
      { stdio: 'ignore' },
    );
    return { cert: readFileSync(`${base}.crt`, 'utf8'), key: readFileSync(`${base}.key`, 'utf8') };
  }

  /** A leaf signed by `ca`: a client certificate, or a server one for `sans` (default 127.0.0.1). */
  leaf(ca: Pem, cn: string, usage: 'client' | 'server', sans: string[] = ['IP:127.0.0.1']): Pem {
    const base = join(this.dir, `leaf-${this.#n++}`);
    writeFileSync(`${base}.ca.crt`, ca.cert);
    writeFileSync(`${base}.ca.key`, ca.key);
    writeFileSync(
      `${base}.ext`,
      usage === 'client'
        ? 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n'
        : `extendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\nsubjectAltName=${sans.join(',')}\n`,
    );
    execFileSync(
      'openssl',
      ['req', ...EC, '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${cn}`],
      {
        stdio: 'ignore',
      },
    );
    execFileSync(
      'openssl',
      [
        'x509',
        '-req',
        '-in',
        `${base}.csr`,
        '-CA',
        `${base}.ca.crt`,
        '-CAkey',
        `${base}.ca.key`,
        '-CAcreateserial',
        '-out',
        `${base}.crt`,
        '-days',
        '1',
        '-extfile',
        `${base}.ext`,
      ],
      { stdio: 'ignore' },
    );
    return { cert: readFileSync(`${base}.crt`, 'utf8'), key: readFileSync(`${base}.key`, 'utf8') };
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
