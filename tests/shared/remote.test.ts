/**
 * Reading what a person types on the start page's "Remote Tunedeck" card, and the only origin
 * shape serve lets into a page's CSP header (`?remote=`): anything else would widen the policy
 * or break the header.
 */
import { describe, expect, it } from 'vitest'
import { parseRemoteAddress, remoteConnectSources, remoteOrigin, remoteSocketUrl } from '../../electron/shared/remote'

describe('the remote host a window drives', () => {
  it('reads the address serve printed, HOST:PORT, and the token from either field', () => {
    expect(parseRemoteAddress('http://192.168.1.20:8765/#token=abc_DEF-123', '')).toEqual({
      origin: 'http://192.168.1.20:8765',
      token: 'abc_DEF-123',
    })
    expect(parseRemoteAddress(' gpu-box:5780 ', ' typed ')).toEqual({ origin: 'http://gpu-box:5780', token: 'typed' })
    expect(parseRemoteAddress('https://tunnel.example/#token=old', 'new')).toEqual({ origin: 'https://tunnel.example', token: 'new' })
  })

  it('says what is missing or wrong, in words', () => {
    expect(parseRemoteAddress('', 'x')).toEqual({ problem: expect.stringContaining('Type the address') })
    expect(parseRemoteAddress('http://gpu-box:5780/', '')).toEqual({ problem: expect.stringContaining('The token is missing') })
    expect(parseRemoteAddress('ftp://gpu-box/', 'x')).toEqual({ problem: expect.stringContaining('not an http:// or https:// address') })
    expect(parseRemoteAddress('http://exa mple:1/', 'x')).toEqual({ problem: expect.stringContaining('is not an address') })
  })

  it('lets only a bare http(s) origin into a CSP', () => {
    expect(remoteOrigin('http://127.0.0.1:5780')).toBe('http://127.0.0.1:5780')
    expect(remoteOrigin('https://gpu-box.example/')).toBe('https://gpu-box.example')
    for (const text of [
      null,
      '',
      'javascript:alert(1)',
      'http://a:1/path',
      'http://a:1/?q',
      'http://u:p@a:1',
      "http://a:1; script-src 'unsafe-inline'",
      'http://a:1\r\nX: y',
      'data:text/html,x',
      '*',
      'ws://a:1',
    ]) {
      expect(remoteOrigin(text), String(text)).toBeNull()
    }
    expect(remoteConnectSources('https://gpu-box.example')).toBe('https://gpu-box.example wss://gpu-box.example')
    expect(remoteSocketUrl('http://127.0.0.1:5780')).toBe('ws://127.0.0.1:5780/ws')
  })
})
