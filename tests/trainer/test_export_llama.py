"""llama.cpp itself applies the exported GGUF adapter: same next-token distribution as PEFT.

Two bases: the tiny Llama with an adapter the trainer trained (llama.cpp's rotary permutation of
q/k), and a tiny Qwen2 (biased projections, no permutation) with a random rsLoRA adapter (the
alpha rescaled for llama.cpp's alpha / rank). Each base is written as a GGUF here (f32, gpt2-type
BPE vocabulary), the adapter is exported with the real export step, and llama.cpp's prebuilt
library (from the npm package node-llama-cpp, pinned 3.21.1) runs both through a short Node
script. Skipped when node or the package is missing.

    PYTHONPATH=python-runtime $TUNEDECK_PYTHON -m pytest -q -s tests/trainer/test_export_llama.py

Tolerance: the adapter is stored as f16 in the GGUF (relative rounding 2^-11 on A and B), and
llama.cpp sums in another order than torch. Measured on these models: at most 3e-4 between the
two distributions, while the adapter itself moves them by far more than the tolerance (checked
below, so the comparison cannot pass with the adapter ignored). Probabilities are compared at
1e-3 absolute, and greedy tokens must match exactly.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, make_job, run_cli

NODE = shutil.which("node")
LLAMA_PACKAGE = ROOT / "node_modules" / "node-llama-cpp" / "package.json"
pytestmark = pytest.mark.skipif(
    NODE is None or not LLAMA_PACKAGE.exists(), reason="needs node and the node-llama-cpp package (npm install)"
)
PROMPTS = [
    [{"role": "user", "content": "What is two plus two?"}],
    [{"role": "user", "content": "Name a colour."}],
    [{"role": "user", "content": "The quick brown fox"}],
]
GREEDY_TOKENS = 6
PROBABILITY_TOLERANCE = 1e-3

# Evaluates each prompt's tokens with the adapter applied and prints, per prompt, the full
# next-token distribution and GREEDY_TOKENS greedy tokens.
NODE_SCRIPT = r"""
import { getLlama, LlamaLogLevel } from 'PACKAGE_URL'
const [modelPath, adapterPath, promptsJson, steps] = process.argv.slice(2)
const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error })
const model = await llama.loadModel({ modelPath })
const results = []
for (const tokens of JSON.parse(promptsJson)) {
  const context = await model.createContext({ contextSize: 256, batchSize: 256, lora: { adapters: [{ filePath: adapterPath, scale: 1 }] } })
  const sequence = context.getSequence()
  const generated = []
  let first = null
  for await (const output of sequence.evaluateWithMetadata(tokens, { probabilities: true }, { temperature: 0 })) {
    if (first === null) first = Object.fromEntries([...output.probabilities.entries()].map(([token, p]) => [token, p]))
    generated.push(output.token)
    if (generated.length >= Number(steps)) break
  }
  results.push({ first, generated })
  await context.dispose()
}
console.log('RESULT ' + JSON.stringify(results))
await model.dispose()
await llama.dispose()
"""


def write_base_gguf(model_dir: Path, out: Path) -> None:
    """Writes a tiny Llama or Qwen2 base as an f32 GGUF in llama.cpp's layout (Llama: q/k rows permuted)."""
    import gguf
    import numpy
    from safetensors.numpy import load_file

    from tunedeck_trainer.export.architectures import permute_rows

    config = json.loads((model_dir / "config.json").read_text())
    tokenizer = json.loads((model_dir / "tokenizer.json").read_text())
    heads, kv_heads = config["num_attention_heads"], config["num_key_value_heads"]
    architecture = config["model_type"]
    permute = architecture == "llama"
    writer = gguf.GGUFWriter(str(out), architecture)
    writer.add_name("tiny")
    writer.add_context_length(config["max_position_embeddings"])
    writer.add_embedding_length(config["hidden_size"])
    writer.add_block_count(config["num_hidden_layers"])
    writer.add_feed_forward_length(config["intermediate_size"])
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv_heads)
    writer.add_layer_norm_rms_eps(config["rms_norm_eps"])
    writer.add_rope_freq_base(config.get("rope_theta", 10000.0))
    writer.add_rope_dimension_count(config["hidden_size"] // heads)
    writer.add_vocab_size(config["vocab_size"])
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)

    vocab = tokenizer["model"]["vocab"]
    tokens = [None] * config["vocab_size"]
    for text, index in vocab.items():
        tokens[index] = text
    special = {added["id"] for added in tokenizer["added_tokens"] if added["special"]}
    for added in tokenizer["added_tokens"]:
        tokens[added["id"]] = added["content"]
    merges = [m if isinstance(m, str) else " ".join(m) for m in tokenizer["model"]["merges"]]
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("gpt-2")  # the GPT-2 split regex, as tokenizers' ByteLevel uses
    writer.add_token_list(tokens)
    writer.add_token_types([gguf.TokenType.CONTROL if i in special else gguf.TokenType.NORMAL for i in range(len(tokens))])
    writer.add_token_merges(merges)
    writer.add_bos_token_id(config["bos_token_id"])
    writer.add_eos_token_id(config["eos_token_id"])
    writer.add_pad_token_id(config["pad_token_id"])
    writer.add_add_bos_token(False)

    arch_enum = next(key for key, value in gguf.MODEL_ARCH_NAMES.items() if value == architecture)
    names = gguf.get_tensor_name_map(arch_enum, config["num_hidden_layers"])
    for key, value in load_file(str(model_dir / "model.safetensors")).items():
        data = value.astype(numpy.float32)
        if permute and key.endswith("q_proj.weight"):
            data = permute_rows(data, heads)
        elif permute and key.endswith("k_proj.weight"):
            data = permute_rows(data, kv_heads)
        writer.add_tensor(names.get_name(key, try_suffixes=(".weight", ".bias")), numpy.ascontiguousarray(data))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def test_llama_cpp_applies_the_gguf_adapter_as_peft_does(tiny_model: Path, tmp_path: Path) -> None:
    job = make_job(tmp_path / "job", tiny_model, training={"maxSteps": 12})
    assert run_cli(job).returncode == 0
    compare_with_llama_cpp(tiny_model, job / "adapter", tmp_path, "llama")


def test_llama_cpp_applies_an_rslora_adapter_of_a_qwen2_base(tiny_model: Path, tmp_path: Path) -> None:
    """A second architecture (no rotary permutation, biased projections) and rsLoRA's scaling."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model))
    llama = json.loads((tiny_model / "config.json").read_text())
    config = Qwen2Config(
        vocab_size=llama["vocab_size"],
        hidden_size=64,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        rms_norm_eps=1e-6,
        initializer_range=0.2,
        tie_word_embeddings=False,
        bos_token_id=llama["bos_token_id"],
        eos_token_id=llama["eos_token_id"],
        pad_token_id=llama["pad_token_id"],
    )
    torch.manual_seed(0)
    base = Qwen2ForCausalLM(config)
    for layer in base.model.layers:  # random biases, so a wrong bias mapping would show
        for projection in (layer.self_attn.q_proj, layer.self_attn.k_proj, layer.self_attn.v_proj):
            torch.nn.init.normal_(projection.bias, std=0.2)
    base_dir = tmp_path / "qwen2"
    base.save_pretrained(base_dir)
    tokenizer.save_pretrained(base_dir)
    lora = LoraConfig(r=8, lora_alpha=8, target_modules="all-linear", use_rslora=True, init_lora_weights=False)
    adapter = get_peft_model(base, lora)
    with torch.no_grad():  # peft's random init of both matrices is strong; a third keeps the model sane
        for name, parameter in adapter.named_parameters():
            if "lora_B" in name:
                parameter.mul_(0.3)
    adapter_dir = tmp_path / "qwen2-adapter"
    adapter.save_pretrained(adapter_dir)
    tokenizer.save_pretrained(adapter_dir)
    compare_with_llama_cpp(base_dir, adapter_dir, tmp_path, "qwen2")


def compare_with_llama_cpp(base_dir: Path, adapter_dir: Path, tmp_path: Path, architecture: str) -> None:
    """Exports ``adapter_dir``, runs it in llama.cpp on a GGUF of ``base_dir``, and compares with PEFT."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tunedeck_trainer.export.prepare import prepare

    stage = tmp_path / "stage"
    result = prepare(adapter_dir, base_dir, stage, base_name=str(base_dir))
    assert result["gguf"]["architecture"] == architecture
    base_gguf = tmp_path / "base.gguf"
    write_base_gguf(base_dir, base_gguf)
    tokenizer = AutoTokenizer.from_pretrained(str(stage / "adapter"))
    prompts = [tokenizer.apply_chat_template(messages, add_generation_prompt=True) for messages in PROMPTS]
    # A file, not `node -e`: node-llama-cpp forks itself to test its binary, and a fork repeats -e.
    script = tmp_path / "llama.mjs"
    package_entry = (ROOT / "node_modules" / "node-llama-cpp" / "dist" / "index.js").as_uri()
    script.write_text(NODE_SCRIPT.replace("PACKAGE_URL", package_entry), encoding="utf-8")
    completed = subprocess.run(
        [NODE, str(script), str(base_gguf), str(stage / "adapter.gguf"), json.dumps(prompts), str(GREEDY_TOKENS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    line = next(line for line in completed.stdout.splitlines() if line.startswith("RESULT "))
    llama_results = json.loads(line[len("RESULT ") :])

    base = AutoModelForCausalLM.from_pretrained(str(base_dir), dtype=torch.float32)
    model = PeftModel.from_pretrained(base, str(adapter_dir)).eval()
    greedy_changed = False
    end_tokens = {tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids("</s>")}
    for prompt, llama in zip(prompts, llama_results, strict=True):
        with torch.no_grad():
            logits = model(torch.tensor([prompt])).logits[0, -1]
            greedy = model.generate(
                torch.tensor([prompt]),
                max_new_tokens=GREEDY_TOKENS,
                do_sample=False,
                eos_token_id=None,
                pad_token_id=tokenizer.pad_token_id,
            )[0, len(prompt) :].tolist()
            with model.disable_adapter():
                base_logits = model(torch.tensor([prompt])).logits[0, -1]
                base_greedy = model.generate(
                    torch.tensor([prompt]),
                    max_new_tokens=GREEDY_TOKENS,
                    do_sample=False,
                    eos_token_id=None,
                    pad_token_id=tokenizer.pad_token_id,
                )[0, len(prompt) :].tolist()
        greedy_changed |= base_greedy != greedy
        peft_probabilities = torch.softmax(logits, dim=-1)
        adapter_effect = (peft_probabilities - torch.softmax(base_logits, dim=-1)).abs().max().item()
        assert adapter_effect > 10 * PROBABILITY_TOLERANCE
        llama_probabilities = torch.zeros_like(peft_probabilities)
        for token, probability in llama["first"].items():
            llama_probabilities[int(token)] = probability
        difference = (peft_probabilities - llama_probabilities).abs().max().item()
        print(
            f"{architecture}: prompt of {len(prompt)} tokens: max |p_peft - p_llama.cpp| = {difference:.2e} "
            f"(adapter moves p by {adapter_effect:.2e}); greedy {greedy}"
        )
        assert difference < PROBABILITY_TOLERANCE
        # llama.cpp stops before an end-of-generation token; PEFT's generate was told not to.
        end = next((index for index, token in enumerate(greedy) if token in end_tokens), len(greedy))
        assert llama["generated"] == greedy[:end]
    assert greedy_changed  # on some prompt the adapter changes the greedy tokens, so matching them means something
