import { mkdtempSync } from 'node:fs'
import { networkInterfaces, tmpdir } from 'node:os'
import { join } from 'node:path'
import { listenUrl } from '@verity/chain'
import { describe, expect, it } from 'vitest'
import { createHub, serveApp } from '../src/index.js'

/** This machine's first non-loopback IPv4 address: what another machine would connect to. */
const external = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && !a.internal && a.family === 'IPv4')?.address

const healthz = async (url: string) => {
  try {
    return (await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) })).status
  } catch (error) {
    return (error as Error & { cause?: { code?: string } }).cause?.code ?? 'failed'
  }
}

describe('--host: where a role listens', () => {
  it('URLs of wildcard and IPv6 listen addresses', () => {
    expect(listenUrl('127.0.0.1', 7001)).toBe('http://127.0.0.1:7001')
    expect(listenUrl('0.0.0.0', 7001)).toBe('http://127.0.0.1:7001')
    expect(listenUrl('::', 7001)).toBe('http://[::1]:7001')
    expect(listenUrl('fd00::2', 80)).toBe('http://[fd00::2]:80')
    expect(listenUrl('node.example', 443)).toBe('http://node.example:443')
  })

  it.runIf(external)('the default serves this machine only; 0.0.0.0 serves the machine’s other addresses', async () => {
    const hub = createHub({ dir: mkdtempSync(join(tmpdir(), 'verity-host-')) })
    const local = await serveApp(hub.app)
    const open = await serveApp(hub.app, 0, '0.0.0.0')
    try {
      expect(await healthz(local.url)).toBe(200)
      expect(await healthz(`http://${external}:${local.port}`)).toBe('ECONNREFUSED')
      expect(open.url).toBe(`http://127.0.0.1:${open.port}`)
      expect(await healthz(`http://${external}:${open.port}`)).toBe(200)
    } finally {
      await local.close()
      await open.close()
    }
  })
})
