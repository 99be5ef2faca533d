/**
 * TLS: a throwaway CA and certificates made with openssl at test time, an https server on
 * 127.0.0.1. Certificates are always verified; a private CA is trusted only when given.
 * Skipped when openssl is not on the machine.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { GovernanceError, ServerUnavailableError } from '../../src/errors.js'
import { createTransport, type Transport, type TransportOptions } from '../../src/transport/index.js'
import { startLocalServer, type LocalServer } from '../helpers/local-server.js'

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

interface Pki {
  ca: string
  serverKey: string
  serverCert: string
  clientKey: string
  clientCert: string
}

/** A CA, a server certificate for localhost/127.0.0.1 and a client certificate, all EC P-256. */
function makePki(dir: string): Pki {
  const run = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' })
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  run('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=governance test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign')
  const leaf = (name: string, ext: string): void => {
    writeFileSync(join(dir, `${name}.ext`), ext)
    run('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`)
    run('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', '-extfile', `${name}.ext`)
  }
  leaf('server', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n')
  leaf('client', 'extendedKeyUsage=clientAuth\n')
  const read = (f: string): string => readFileSync(join(dir, f), 'utf8')
  return { ca: read('ca.crt'), serverKey: read('server.key'), serverCert: read('server.crt'), clientKey: read('client.key'), clientCert: read('client.crt') }
}

describe.skipIf(!hasOpenssl())('TLS', () => {
  let dir: string
  let pki: Pki
  let plain: LocalServer
  let mutual: LocalServer
  const transports: Transport[] = []

  function transport(server: LocalServer, tls?: TransportOptions['tls']): Transport {
    const t = createTransport({ servers: [server.url], requestTimeoutMs: 3000, retry: { retries: 0 }, ...(tls && { tls }) })
    transports.push(t)
    return t
  }
  const hello = (t: Transport): Promise<unknown> => t.request({ method: 'GET', path: '/v1/health' }).then((r) => r.body)

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gov-tls-'))
    pki = makePki(dir)
    const handler = (_req: unknown, res: { end(s: string): void; setHeader(k: string, v: string): void }): void => {
      res.setHeader('content-type', 'application/json')
      res.end('{"status":"ok"}')
    }
    plain = await startLocalServer(handler, { key: pki.serverKey, cert: pki.serverCert })
    mutual = await startLocalServer(handler, { key: pki.serverKey, cert: pki.serverCert, ca: pki.ca, requestCert: true, rejectUnauthorized: true })
  })
  afterEach(async () => void (await Promise.all(transports.splice(0).map((t) => t.close()))))
  afterAll(async () => {
    await plain?.close()
    await mutual?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('refuses an unknown CA with a TLS error that is not retryable and not an AuthError', async () => {
    const err = await hello(transport(plain)).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ServerUnavailableError)
    expect(err).toMatchObject({ retryable: false, details: { tls: true } })
    expect((err as Error).message).toMatch(/TLS handshake failed \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)/)
    expect((err as Error).message).toContain('pass tls.ca')
  })

  it('succeeds with the CA', async () => {
    await expect(hello(transport(plain, { ca: pki.ca }))).resolves.toEqual({ status: 'ok' })
  })

  it('checks the host name (servername)', async () => {
    await expect(hello(transport(plain, { ca: pki.ca, servername: 'localhost' }))).resolves.toEqual({ status: 'ok' })
    const err = await hello(transport(plain, { ca: pki.ca, servername: 'other.example' })).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ServerUnavailableError)
    expect((err as Error).message).toContain('ERR_TLS_CERT_ALTNAME_INVALID')
  })

  it('mutual TLS: refused without a client certificate, accepted with one', async () => {
    const err = await hello(transport(mutual, { ca: pki.ca })).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(GovernanceError)
    expect(err).toBeInstanceOf(ServerUnavailableError)
    // TLS 1.3 finishes the client's handshake first; the server's refusal then arrives as a
    // closed connection (or a certificate_required alert, depending on timing).
    await expect(hello(transport(mutual, { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey }))).resolves.toEqual({ status: 'ok' })
  })
})
