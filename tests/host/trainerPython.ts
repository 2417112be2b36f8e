/** The interpreter the host tests run the real trainer and probes with. */
import fs from 'node:fs'

/**
 * The trainer's Python (a venv with python-runtime/requirements.txt), which .ci/run exports as
 * TUNEDECK_PYTHON. A test file that needs the real one fails at once, saying so, without it.
 */
export function trainerPython(): string {
  const found = process.env.TUNEDECK_PYTHON
  if (!found || !fs.existsSync(found)) {
    throw new Error(
      `Set TUNEDECK_PYTHON to the trainer's Python (a venv with python-runtime/requirements.txt); it is ${found ? `${found}, which does not exist` : 'unset'}.`,
    )
  }
  return found
}
