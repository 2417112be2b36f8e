/** The shape of what `python -m tunedeck_trainer.export prepare` prints, checked on arrival. */
import { z } from 'zod'
import { compatibilitySchema } from '@shared/exports'

export const preparedSchema = z.object({
  compatibility: compatibilitySchema,
  template: z.object({
    /** chatml, llama3, gemma, or null for a template the export does not recognise. */
    family: z.string().nullable(),
    /** The trained chat template restated as an Ollama (Go) template. */
    ollamaTemplate: z.string().nullable(),
    stops: z.array(z.string()),
    /** The system prompt the template adds when a conversation has none. */
    system: z.string().nullable(),
  }),
  stopTokenIds: z.array(z.int()),
  gguf: z.object({ architecture: z.string(), alpha: z.number(), modules: z.int() }).nullable(),
  /** The merged model as one GGUF (model.gguf), when asked. */
  modelGguf: z.object({ architecture: z.string(), type: z.string(), bytes: z.int() }).nullable().optional(),
  rank: z.int(),
  alpha: z.number(),
  baseModel: z.string(),
})

export type Prepared = z.infer<typeof preparedSchema>
