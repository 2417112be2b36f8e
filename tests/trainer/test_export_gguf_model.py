"""llama.cpp runs the merged GGUF alone (no base file, no adapter) as PEFT runs base plus adapter.

The tiny Llama with an adapter the trainer trained is merged and written as f16, q8_0 and q4_0 by
the export's own writer (export/gguf_model.py); llama.cpp's prebuilt library (node-llama-cpp
3.21.1) scores held-out text token by token, and its perplexity is compared with PEFT's on the same
tokens: f16 within 0.1 %, q8_0 within 1 %, q4_0 printed. f16's greedy tokens equal PEFT's. A tiny
Qwen2 with random biases checks the second architecture in f16. An unsupported architecture is
refused naming it. Skipped when node or the package is missing.

    PYTHONPATH=python-runtime $TUNEDECK_PYTHON -m pytest -q -s tests/trainer/test_export_gguf_model.py
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, make_job, run_cli

NODE = shutil.which("node")
LLAMA_PACKAGE = ROOT / "node_modules" / "node-llama-cpp" / "package.json"
needs_llama = pytest.mark.skipif(NODE is None or not LLAMA_PACKAGE.exists(), reason="needs node and node-llama-cpp (npm install)")
# Not in the self-test dataset: text the adapter never saw.
HELD_OUT = (
    "The river ran past the old mill, and the children counted the boats that drifted by. "
    "What is the capital of France? Paris is the capital of France. Name three colours: red, blue and green."
)
GREEDY_TOKENS = 8
TOLERANCE = {"f16": 0.001, "q8_0": 0.01}

# Scores every token of the text after the first (its probability given the ones before), then
# generates GREEDY_TOKENS greedily from the prompt; prints both as one JSON line.
NODE_SCRIPT = r"""
import { getLlama, LlamaLogLevel } from 'PACKAGE_URL'
const [modelPath, textJson, promptJson, steps] = process.argv.slice(2)
const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error })
const model = await llama.loadModel({ modelPath })
const text = JSON.parse(textJson)
let context = await model.createContext({ contextSize: 512, batchSize: 512 })
const input = text.slice(0, -1).map((token) => [token, { generateNext: { probabilities: true } }])
const outputs = await context.getSequence().controlledEvaluate(input)
const logProbabilities = outputs.map((output, index) => Math.log(output.next.probabilities.get(text[index + 1]) ?? 0))
await context.dispose()
context = await model.createContext({ contextSize: 512, batchSize: 512 })
const generated = []
for await (const output of context.getSequence().evaluateWithMetadata(JSON.parse(promptJson), {}, { temperature: 0 })) {
  generated.push(output.token)
  if (generated.length >= Number(steps)) break
}
console.log('RESULT ' + JSON.stringify({ logProbabilities, generated }))
await context.dispose()
await model.dispose()
await llama.dispose()
"""


def run_llama(model: Path, text: list[int], prompt: list[int], tmp_path: Path) -> dict:
    script = tmp_path / "score.mjs"  # a file: node-llama-cpp forks itself, and a fork repeats -e
    script.write_text(NODE_SCRIPT.replace("PACKAGE_URL", (ROOT / "node_modules" / "node-llama-cpp" / "dist" / "index.js").as_uri()))
    completed = subprocess.run(
        [NODE, str(script), str(model), json.dumps(text), json.dumps(prompt), str(GREEDY_TOKENS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    line = next(line for line in completed.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])


@pytest.fixture(scope="module")
def trained(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    job = make_job(tmp_path_factory.mktemp("gguf-model") / "job", tiny_model, training={"maxSteps": 12})
    assert run_cli(job).returncode == 0
    return job / "adapter"


@needs_llama
def test_llama_cpp_runs_the_merged_gguf_as_peft_runs_base_and_adapter(trained: Path, tiny_model: Path, tmp_path: Path) -> None:
    compare_with_peft(tiny_model, trained, tmp_path, ("f16", "q8_0", "q4_0"))


@needs_llama
def test_a_qwen2_base_with_biases(tiny_model: Path, tmp_path: Path) -> None:
    """The second architecture: no rotary permutation, biased q/k/v projections (random here, so a
    wrong bias mapping would show), an adapter on every linear layer."""
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
    for layer in base.model.layers:
        for projection in (layer.self_attn.q_proj, layer.self_attn.k_proj, layer.self_attn.v_proj):
            torch.nn.init.normal_(projection.bias, std=0.2)
    base_dir = tmp_path / "qwen2"
    base.save_pretrained(base_dir)
    tokenizer.save_pretrained(base_dir)
    adapter = get_peft_model(base, LoraConfig(r=8, lora_alpha=16, target_modules="all-linear", init_lora_weights=False))
    with torch.no_grad():
        for name, parameter in adapter.named_parameters():
            if "lora_B" in name:
                parameter.mul_(0.3)
    adapter_dir = tmp_path / "qwen2-adapter"
    adapter.save_pretrained(adapter_dir)
    tokenizer.save_pretrained(adapter_dir)
    compare_with_peft(base_dir, adapter_dir, tmp_path, ("f16",))


@needs_llama
def test_llama3_rope_scaling_is_written_as_rope_freqs(tiny_model: Path, tmp_path: Path) -> None:
    """Llama 3's rope scaling becomes llama.cpp's rope_freqs tensor; a short original context puts the
    tiny model's frequencies on both sides of the smooth band, so every branch of the factors counts."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model))
    config = LlamaConfig.from_pretrained(str(tiny_model))
    config.rope_scaling = {
        "rope_type": "llama3",
        "factor": 8.0,
        "low_freq_factor": 1.0,
        "high_freq_factor": 4.0,
        "original_max_position_embeddings": 64,
    }
    config.initializer_range = 0.2
    torch.manual_seed(1)
    base = LlamaForCausalLM(config)
    base_dir = tmp_path / "llama3"
    base.save_pretrained(base_dir)
    tokenizer.save_pretrained(base_dir)
    adapter = get_peft_model(base, LoraConfig(r=8, lora_alpha=16, target_modules="all-linear", init_lora_weights=False))
    with torch.no_grad():
        for name, parameter in adapter.named_parameters():
            if "lora_B" in name:
                parameter.mul_(0.3)
    adapter_dir = tmp_path / "llama3-adapter"
    adapter.save_pretrained(adapter_dir)
    tokenizer.save_pretrained(adapter_dir)
    scaled = compare_with_peft(base_dir, adapter_dir, tmp_path, ("f16",))
    # Without the scaling the same weights score otherwise, so llama.cpp matching means rope_freqs is applied.
    from peft import PeftModel

    config.rope_scaling = None
    unscaled = PeftModel.from_pretrained(LlamaForCausalLM.from_pretrained(str(base_dir), config=config), str(adapter_dir)).eval()
    text = tokenizer(HELD_OUT)["input_ids"]
    with torch.no_grad():
        logits = unscaled(torch.tensor([text])).logits[0, :-1]
        unscaled_perplexity = math.exp(-torch.log_softmax(logits, -1).gather(1, torch.tensor(text[1:])[:, None]).mean().item())
    print(f"without rope scaling PEFT's perplexity would be {unscaled_perplexity:.4f} (with it {scaled:.4f})")
    assert abs(unscaled_perplexity / scaled - 1) > 10 * TOLERANCE["f16"]


def compare_with_peft(base_dir: Path, adapter_dir: Path, tmp_path: Path, kinds: tuple[str, ...]) -> float:
    """Writes the merged GGUF of each type and compares llama.cpp's perplexity and greedy tokens with PEFT's."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tunedeck_trainer.export import gguf_model

    config = json.loads((base_dir / "config.json").read_text())
    state = gguf_model.merged_state(adapter_dir, base_dir)
    tokenizer = AutoTokenizer.from_pretrained(str(adapter_dir))
    text = tokenizer(HELD_OUT)["input_ids"]
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "What is two plus two?"}], add_generation_prompt=True)
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(str(base_dir), dtype=torch.float32), str(adapter_dir)).eval()

    def log_probabilities() -> torch.Tensor:
        logits = model(torch.tensor([text])).logits[0, :-1]
        return torch.log_softmax(logits, dim=-1).gather(1, torch.tensor(text[1:])[:, None])[:, 0]

    with torch.no_grad():
        peft_perplexity = math.exp(-log_probabilities().mean().item())
        greedy = model.generate(
            torch.tensor([prompt]), max_new_tokens=GREEDY_TOKENS, do_sample=False, eos_token_id=None, pad_token_id=tokenizer.pad_token_id
        )[0, len(prompt) :].tolist()
        with model.disable_adapter():
            base_perplexity = math.exp(-log_probabilities().mean().item())
    print(
        f"\n{config['model_type']}: {len(text)} held-out tokens: PEFT perplexity {peft_perplexity:.4f} (base alone {base_perplexity:.4f})"
    )
    # The adapter moves the perplexity by more than ten times the f16 tolerance, so matching PEFT means the merge is in.
    assert abs(base_perplexity / peft_perplexity - 1) > 10 * TOLERANCE["f16"]
    for kind in kinds:
        out = tmp_path / f"model-{kind}.gguf"
        info = gguf_model.write(state, config, adapter_dir, out, kind, name="tiny")
        result = run_llama(out, text, prompt, tmp_path)
        perplexity = math.exp(-sum(result["logProbabilities"]) / len(result["logProbabilities"]))
        change = perplexity / peft_perplexity - 1
        print(
            f"{kind}: {info['bytes']} bytes, llama.cpp perplexity {perplexity:.4f} ({change:+.4%} against PEFT); "
            f"greedy {result['generated']} (PEFT {greedy})"
        )
        if kind in TOLERANCE:
            assert abs(change) < TOLERANCE[kind], kind
        if kind == "f16":
            # llama.cpp stops before an end-of-generation token; PEFT's generate was told not to.
            end = next((index for index, token in enumerate(greedy) if token == tokenizer.eos_token_id), len(greedy))
            assert result["generated"] == greedy[:end]
    return peft_perplexity


def test_an_unsupported_architecture_is_refused_by_name() -> None:
    from tunedeck_trainer.errors import TrainerError
    from tunedeck_trainer.export import gguf_model

    with pytest.raises(TrainerError, match="supports llama, qwen2; this base is 'gemma2'"):
        gguf_model.check_supported({"model_type": "gemma2"})
