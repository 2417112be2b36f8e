/**
 * The page address that asks serve for a page whose CSP names the remote host (?remote=ORIGIN):
 * the rest of the address (path, other parameters, the page's hash route) stays as it was.
 */
import { describe, expect, it } from 'vitest'
import { addressFor } from '../../renderer/src/api/remote'

describe('the address of a page driving a remote host', () => {
  it('adds, replaces and removes the remote origin, keeping the path, other parameters and the hash', () => {
    expect(addressFor({ pathname: '/', search: '', hash: '#/jobs/1' }, 'http://127.0.0.1:5781')).toBe(
      '/?remote=http%3A%2F%2F127.0.0.1%3A5781#/jobs/1',
    )
    expect(addressFor({ pathname: '/', search: '?remote=http%3A%2F%2Fa%3A1&x=2', hash: '' }, 'http://b:2')).toBe(
      '/?remote=http%3A%2F%2Fb%3A2&x=2',
    )
    expect(addressFor({ pathname: '/', search: '?x=2&remote=http%3A%2F%2Fa%3A1', hash: '#/' }, null)).toBe('/?x=2#/')
    expect(addressFor({ pathname: '/index.html', search: '?remote=http%3A%2F%2Fa%3A1', hash: '' }, null)).toBe('/index.html')
  })
})
