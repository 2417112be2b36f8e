/** The set-up's progress bar follows pip's real work, including the silent minutes of unpacking. */
import { describe, expect, it } from 'vitest'
import { PipProgress, wheelBytes } from '../../electron/host/python/progress'

describe('pip progress', () => {
  it('reads the size of each wheel pip fetches or takes from its cache', () => {
    expect(wheelBytes('Downloading torch-2.9.1-cp311-cp311-manylinux_2_28_x86_64.whl (899.7 MB)')).toBeCloseTo(899.7e6)
    expect(wheelBytes('  Using cached numpy-2.3.5-cp311-cp311-manylinux_2_28_x86_64.whl (16.9 MB)')).toBeCloseTo(16.9e6)
    expect(wheelBytes('Downloading filelock-3.20.0-py3-none-any.whl (16 kB)')).toBe(16_000)
    expect(wheelBytes('Collecting torch==2.9.1 (from -r requirements.txt (line 2))')).toBeNull()
  })

  it('moves through the install phase as bytes are written, and stops short of done until pip says so', () => {
    const progress = new PipProgress(2)
    progress.venvReady()
    progress.line('Collecting torch==2.9.1 (from -r requirements.txt (line 2))')
    progress.line('Downloading torch-2.9.1-cp311-cp311-manylinux_2_28_x86_64.whl (900 MB)')
    progress.line('Collecting numpy==2.3.5 (from -r requirements.txt (line 3))')
    progress.line('Downloading numpy-2.3.5-cp311-cp311-manylinux_2_28_x86_64.whl (100 MB)')
    // Bytes written before the install phase do not move the bar.
    expect(progress.installedBytes(5e8)).toBe(false)
    progress.line('Installing collected packages: numpy, torch')
    expect(progress.progress).toBeCloseTo(0.8)
    // 1 GB of wheels unpack to about 2 GB: half of that written is half the phase.
    expect(progress.installedBytes(1e9)).toBe(true)
    expect(progress.progress).toBeCloseTo(0.875)
    progress.installedBytes(9e9)
    expect(progress.progress).toBeLessThan(0.95)
    // Never backwards.
    progress.installedBytes(1e8)
    expect(progress.progress).toBeGreaterThan(0.9)
    progress.line('Successfully installed numpy-2.3.5 torch-2.9.1')
    expect(progress.progress).toBeCloseTo(0.95)
  })
})
