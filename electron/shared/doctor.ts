/**
 * The environment doctor on the Set-up page: each check of the Python environment, torch's
 * build against this machine's GPU and driver, bitsandbytes, disk space and a CUDA smoke
 * test, with a plain verdict and what to do; Repair reinstalls only what a check found broken.
 */
import { z } from 'zod'

export const doctorVerdicts = ['ok', 'warning', 'problem', 'skipped'] as const
export type DoctorVerdict = (typeof doctorVerdicts)[number]

export const doctorCheckIds = ['python', 'environment', 'packages', 'torch', 'bitsandbytes', 'disk', 'cuda'] as const
export type DoctorCheckId = (typeof doctorCheckIds)[number]

export const doctorCheckSchema = z.object({
  id: z.enum(doctorCheckIds),
  title: z.string(),
  verdict: z.enum(doctorVerdicts),
  /** What was found, in a sentence. */
  summary: z.string(),
  /** What to do about it; null when nothing needs doing. */
  action: z.string().nullable(),
  /** What the Repair button does for this check, in words; null when Repair cannot fix it. */
  repair: z.string().nullable(),
})

export type DoctorCheck = z.infer<typeof doctorCheckSchema>

export const doctorReportSchema = z.object({
  time: z.number(),
  checks: z.array(doctorCheckSchema),
  /** How long the whole examination took, in ms (the smoke test is part of it). */
  milliseconds: z.number(),
})

export type DoctorReport = z.infer<typeof doctorReportSchema>
