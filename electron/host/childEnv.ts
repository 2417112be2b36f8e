/**
 * The environment every child of the host gets (trainer, chat, preview, export, pip, doctor
 * probe, downloads, nvidia-smi): an allowlist, not the host's own. The host's environment holds
 * TUNEDECK_TOKEN, which drives serve, and maybe a Hugging Face token; a child runs model and
 * data code (remote code, pickles, tokenizer scripts) that could read either. A Hub token goes
 * only to the download child that needs it (hubToken).
 *
 * Kept: what finding programs, libraries, the GPU, caches, certificates and proxies needs, the
 * locale, and the TUNEDECK_* test hooks the trainer reads (python-runtime/tunedeck_trainer/
 * test_hooks.py and the chat and download hooks). PYTHON* variables are the host's to set.
 *
 * MLflow's and Weights & Biases' settings (MLFLOW_*, WANDB_*: a tracking URI, an API key, offline
 * mode) go only to the trainer (experimentLogs), which sends a job's scalars there when they are set
 * (python-runtime/tunedeck_trainer/experiment_sinks.py); like the Hub token, they may carry secrets.
 */

/** Names passed on as they are. */
const names = new Set([
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'TERM',
  'COLORTERM',
  'TZ',
  'LANG',
  'LANGUAGE',
  'TMPDIR',
  'TMP',
  'TEMP',
  'DISPLAY',
  'WAYLAND_DISPLAY',
  'XDG_CACHE_HOME',
  'XDG_CONFIG_HOME',
  'XDG_DATA_HOME',
  'XDG_RUNTIME_DIR',
  'LD_LIBRARY_PATH',
  'DYLD_LIBRARY_PATH',
  'DYLD_FALLBACK_LIBRARY_PATH',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'REQUESTS_CA_BUNDLE',
  'CURL_CA_BUNDLE',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'ALL_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'all_proxy',
  'OMP_NUM_THREADS',
  'MKL_NUM_THREADS',
  'TOKENIZERS_PARALLELISM',
  // Windows: where the system, the profile and the programs are.
  'SYSTEMROOT',
  'SystemRoot',
  'WINDIR',
  'COMSPEC',
  'ComSpec',
  'PATHEXT',
  'SYSTEMDRIVE',
  'USERPROFILE',
  'APPDATA',
  'LOCALAPPDATA',
  'PROGRAMDATA',
  'PROGRAMFILES',
  'PROGRAMFILES(X86)',
  'ProgramFiles',
  'ProgramFiles(x86)',
  'ProgramData',
  'HOMEDRIVE',
  'HOMEPATH',
  'NUMBER_OF_PROCESSORS',
  'PROCESSOR_ARCHITECTURE',
  'OS',
  // The test hooks the trainer, the chat and the downloads read; nothing else of TUNEDECK_*.
  'TUNEDECK_PAUSE_AT_STEP',
  'TUNEDECK_CHECKPOINT_SAVE_DELAY',
  'TUNEDECK_SIMULATE_OOM_ABOVE_BATCH',
  'TUNEDECK_SIMULATE_OOM_FROM_STEP',
  'TUNEDECK_SIMULATE_OOM_MICRO_BATCH',
  'TUNEDECK_SIMULATE_OOM_IN_BACKWARD',
  'TUNEDECK_SIMULATE_OOM_RANK',
  'TUNEDECK_CUDA_MEMORY_MB',
  'TUNEDECK_DISK_FREE_BYTES',
  'TUNEDECK_CHAT_TOKEN_DELAY',
  'TUNEDECK_CHAT_REPORT_CUDA',
  // A setting, not a hook: the encoded-data cache's size limit (data/encoded_cache.py).
  'TUNEDECK_ENCODED_CACHE_MB',
  // A setting: llama.cpp's llama-quantize for a q4_K_M merged GGUF (export/gguf_offer.py).
  'TUNEDECK_LLAMA_QUANTIZE',
])

/** Prefixes passed on: the locale, the GPU stacks, the Hub's and the ML libraries' settings, pip's. */
const prefixes = [
  'LC_',
  'CUDA_',
  'NVIDIA_',
  'CUDNN_',
  'NCCL_',
  'ROCM_',
  'HIP_',
  'HSA_',
  'PYTORCH_',
  'TORCH_',
  'TORCHINDUCTOR_',
  'TRITON_',
  'HF_',
  'HUGGINGFACE_',
  'TRANSFORMERS_',
  'BNB_',
  'PIP_',
]

/** Variables that carry a Hub token, under any of the prefixes above. */
const hubTokenNames = new Set(['HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN', 'HUGGINGFACE_TOKEN', 'HF_API_TOKEN'])

/** Prefixes passed on to the trainer only: its experiment logs' settings. */
const experimentLogPrefixes = ['MLFLOW_', 'WANDB_']

/** What a child may inherit from `source`, plus `extra` (which wins). */
export function childEnvironment(
  extra: Record<string, string> = {},
  options: { hubToken?: boolean; experimentLogs?: boolean; source?: NodeJS.ProcessEnv } = {},
): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(options.source ?? process.env)) {
    if (value === undefined) continue
    if (hubTokenNames.has(name)) {
      if (options.hubToken) env[name] = value
      continue
    }
    if (names.has(name) || prefixes.some((prefix) => name.startsWith(prefix))) env[name] = value
    else if (options.experimentLogs && experimentLogPrefixes.some((prefix) => name.startsWith(prefix))) env[name] = value
  }
  return { ...env, ...extra }
}
