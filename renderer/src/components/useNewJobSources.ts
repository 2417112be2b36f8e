/**
 * What the new-job form is filled from: the presets and the self-test's own settings (asked once),
 * the library dataset it was opened on, and the job it starts from (a checkpoint, or "run again"),
 * which fills the form once, also after a reload.
 */
import { useEffect, useRef, useState, type Dispatch, type SetStateAction } from 'react'
import type { JobSettings } from '@shared/config'
import type { Job, Preset } from '@shared/jobs'
import { getClient } from '../api/client'
import { toAppError } from '../api/errors'
import { formFromCheckpoint, formFromJob, type NewJobFormValues } from '../logic/newJobForm'
import { rerunName } from '../logic/rerun'
import { useDatasetsStore } from '../stores/datasets'
import { useJob, useJobsStore } from '../stores/jobs'
import type { StartFrom } from '../stores/navigation'

interface Sources {
  presets: Preset[]
  presetError: string | null
  selftestSettings: JobSettings | undefined
  /** The job the form starts from or runs again, once loaded. */
  source: Job | undefined
}

export function useNewJobSources(
  page: { from?: StartFrom; datasetId?: string; again?: string },
  setValues: Dispatch<SetStateAction<NewJobFormValues>>,
  setGeneral: (messages: string[]) => void,
): Sources {
  const { from, datasetId, again } = page
  const [presets, setPresets] = useState<Preset[]>([])
  const [presetError, setPresetError] = useState<string | null>(null)
  const [selftestSettings, setSelftestSettings] = useState<JobSettings | undefined>(undefined)
  const loadJob = useJobsStore((state) => state.loadOne)
  const source = useJob(from?.jobId ?? again ?? null)
  const prefilled = useRef(false)

  useEffect(() => {
    void useDatasetsStore.getState().load()
    if (!datasetId) return
    getClient()
      .request('datasets.get', { datasetId })
      .then(
        (dataset) => setValues((current) => ({ ...current, datasetPath: dataset.path })),
        (error: unknown) => setGeneral([toAppError(error).message]),
      )
  }, [datasetId, setValues, setGeneral])

  useEffect(() => {
    getClient()
      .request('presets.list', {})
      .then(setPresets, (error: unknown) => setPresetError(`Presets are not available: ${toAppError(error).message}`))
    getClient()
      .request('presets.selftest', {})
      .then(setSelftestSettings, (error: unknown) =>
        setPresetError(`The self-test's settings are not available: ${toAppError(error).message}`),
      )
  }, [])

  // Opened from a checkpoint (perhaps by a reload): fetch the source job, then fill the form from it once.
  useEffect(() => {
    const sourceId = from?.jobId ?? again
    if (sourceId && !source) void loadJob(sourceId)
    if (source && !prefilled.current && (from || again)) {
      prefilled.current = true
      setValues(from ? formFromCheckpoint(source, { name: from.checkpoint }) : formFromJob(source, rerunName(source.name)))
    }
  }, [from, again, source, loadJob, setValues])

  return { presets, presetError, selftestSettings, source }
}
