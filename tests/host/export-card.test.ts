/** The Modelfile and model card an export writes, for bases and adapters the self-test does not cover. */
import { describe, expect, it } from 'vitest'
import { jobConfigSchema } from '@shared/config'
import { modelCard, modelfile, type CardInput } from '../../electron/host/exports/card'
import type { Prepared } from '../../electron/host/exports/prepared'

const config = jobConfigSchema.parse({
  version: 1,
  jobId: 'j1',
  model: { path: 'Qwen/Qwen2.5-0.5B-Instruct' },
  dataset: { path: '/data/train.jsonl' },
  lora: { rank: 12, alpha: 24 },
})

function prepared(change: Partial<Prepared> = {}): Prepared {
  return {
    compatibility: {
      targets: [
        { target: 'peft', loads: true, reason: null, fix: null },
        {
          target: 'vllm',
          loads: false,
          reason: 'rank 12 is not one vLLM accepts (1, 8, 16, 32, 64, 128, 256, 320, 512)',
          fix: 'train with lora.rank 16',
        },
        { target: 'llamacpp', loads: true, reason: null, fix: null },
        {
          target: 'ollama',
          loads: true,
          reason:
            "Ollama converts safetensors adapters only for Llama, Mistral and Gemma 2 bases, not 'qwen2': the Modelfile uses adapter.gguf",
          fix: null,
        },
      ],
      modelType: 'qwen2',
      ggufArchitecture: 'qwen2',
      vllmMaxLoraRank: 16,
    },
    template: { family: 'chatml', ollamaTemplate: '{{ .Prompt }}', stops: ['<|im_end|>', '<|im_start|>'], system: 'You are "helpful".' },
    stopTokenIds: [151645, 151644],
    gguf: { architecture: 'qwen2', alpha: 24, modules: 168 },
    rank: 12,
    alpha: 24,
    baseModel: 'Qwen/Qwen2.5-0.5B-Instruct',
    ...change,
  }
}

function input(change: Partial<CardInput> = {}): CardInput {
  return {
    jobName: 'My Qwen tune',
    jobId: 'j1',
    checkpoint: null,
    config,
    history: { csv: '', steps: 40, finalLoss: 1.23456, heldOutLoss: null },
    dataset: { name: 'train.jsonl', sha256: 'ab'.repeat(32) },
    appVersion: '1.2.3',
    date: new Date('2026-11-30T01:00:00Z'),
    prepared: prepared(),
    merged: false,
    ...change,
  }
}

describe('export Modelfile', () => {
  it("names the base's Ollama tag, applies adapter.gguf and restates the template, stops and system prompt", () => {
    const text = modelfile(input())
    expect(text).toMatch(/^FROM qwen2\.5:0\.5b-instruct-fp16$/m)
    expect(text).toContain('# Either its Ollama tag in full precision (ollama pull qwen2.5:0.5b-instruct-fp16)')
    expect(text).toMatch(/^ADAPTER \.\/adapter\.gguf$/m)
    expect(text).toContain('TEMPLATE """{{ .Prompt }}"""')
    expect(text).toContain('PARAMETER stop "<|im_end|>"\nPARAMETER stop "<|im_start|>"')
    expect(text).toContain('SYSTEM """You are "helpful"."""')
  })

  it('says so, instead of an ADAPTER line, when llama.cpp cannot apply the adapter', () => {
    const refusing = prepared({ gguf: null })
    refusing.compatibility.targets[3] = {
      target: 'ollama',
      loads: false,
      reason: 'it is a DoRA adapter (lora.dora on)',
      fix: 'export the merged model',
    }
    const text = modelfile(input({ prepared: refusing }))
    expect(text).not.toMatch(/^ADAPTER/m)
    expect(text).toContain('# No adapter.gguf in this export (it is a DoRA adapter (lora.dora on))')
  })

  it('uses a GGUF of a local base and tells how to make it', () => {
    const text = modelfile(input({ prepared: prepared({ baseModel: '/models/my-llama' }) }))
    expect(text).toMatch(/^FROM \.\/base\.gguf$/m)
    // The Modelfile is shared with others: the base folder by its name, not this machine's path.
    expect(text).toContain('python convert_hf_to_gguf.py my-llama --outfile base.gguf --outtype f16')
    expect(text).not.toContain('/models/')
  })
})

describe('a shared card holds no path of this machine', () => {
  it('names a local base, the dataset and a checkpoint by file name only', () => {
    const local = jobConfigSchema.parse({
      ...config,
      model: { path: '/home/someone/models/my-llama' },
      dataset: { path: '/home/someone/data/train.jsonl' },
    })
    const text = modelCard(
      input({ config: local, checkpoint: 'pause-17', prepared: prepared({ baseModel: '/home/someone/models/my-llama/' }) }),
    )
    expect(text).toContain('- Base model: my-llama')
    expect(text).toContain('from_pretrained("my-llama")')
    expect(text).not.toContain('/home/someone')
  })
})

describe('export model card', () => {
  it('states the training, the compatibility with what to change, and the commands for each loader', () => {
    const card = modelCard(input())
    expect(card).toContain('- Base model: Qwen/Qwen2.5-0.5B-Instruct (qwen2)')
    expect(card).toContain(`- Dataset: train.jsonl, SHA-256 ${'ab'.repeat(32)}`)
    expect(card).toContain('- LoRA: rank 12, alpha 24')
    expect(card).toContain('- Final training loss: 1.2346; held-out loss: none')
    expect(card).toContain('exported by Tunedeck 1.2.3 on 2026-11-30')
    expect(card).toContain(
      '| vLLM | no | rank 12 is not one vLLM accepts (1, 8, 16, 32, 64, 128, 256, 320, 512) To load it: train with lora.rank 16. |',
    )
    expect(card).toContain('vllm serve Qwen/Qwen2.5-0.5B-Instruct --enable-lora --lora-modules my-qwen-tune=./adapter --max-lora-rank 16')
    expect(card).toContain('model = PeftModel.from_pretrained(base, "adapter")')
    expect(card).toContain('llama-cli -m base.gguf --lora adapter.gguf')
    expect(card).toContain('ollama create my-qwen-tune -f Modelfile')
  })
})
