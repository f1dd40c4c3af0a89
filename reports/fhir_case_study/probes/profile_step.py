# Where a training step of SmolLM2 spends its time: the demo's step (full fine-tuning, packed lines of 256 tokens,
# 16 generated training requests a step), in float32 and under bf16 autocast (train() picks whichever is faster here),
# timed over STEPS steps, then profiled over the same steps with torch.profiler. Prints tokens/s, the share of CPU time
# in matrix products and their GFLOPS, and the share in attention. It needs no earlier run: the generator draws the
# requests.
#   python reports/fhir_case_study/probes/profile_step.py [STEPS]   (from the repository root)
import sys, time, collections
import torch, datasets
from torch.profiler import profile, ProfilerActivity
from stepdistill_nb.training import load_student, TaskFormat, encode_examples, PackedCollator, task_losses, multitask_loss
from stepdistill_nb.fhir_data import generate_fhir_records

def demo_step(n_batches:int):
    "SmolLM2 as `train()` loads it, `n_batches` packed batches of 16 generated training requests, and `step(batch, bf16)`: one optimizer step."
    torch.manual_seed(0)
    model, tok = load_student('smollm2')
    fmt = TaskFormat(False, max_input_len=128, max_target_len=128, max_rationale_len=64)
    enc = encode_examples(datasets.Dataset.from_list(generate_fhir_records(16 * n_batches, 'train', seed=1)), tok, fmt, mode='standard')
    col = PackedCollator(tok.pad_token_id or 0, 256)
    batches = [col([enc[i] for i in range(16 * j, 16 * j + 16)]) for j in range(n_batches)]
    opt = torch.optim.AdamW(model.parameters(), lr=1e-6, fused=True)   # as the Trainer's default optim, adamw_torch_fused
    def step(batch, bf16):
        model.train()
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16):
            rs, rn, _ = task_losses(model, batch, False)
            loss = multitask_loss(rs, rn, batch['task'])[0]
        loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)
        return loss.item()
    return model, batches, step

MATMUL = {'aten::mm', 'aten::addmm', 'aten::bmm', 'aten::baddbmm'}

if __name__ == '__main__':
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    model, batches, step = demo_step(steps + 1)
    tokens = sum(int(b['segment'].ge(0).sum()) for b in batches[1:])
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, cpu capability {torch.backends.cpu.get_cpu_capability()}; {steps} steps of {tokens} tokens in all')
    for bf16 in (False, True):
        step(batches[0], bf16)   # warm-up, not counted
        t = time.perf_counter()
        for b in batches[1:]: step(b, bf16)
        plain = time.perf_counter() - t
        with profile(activities=[ProfilerActivity.CPU], with_flops=True) as prof:
            for b in batches[1:]: step(b, bf16)
        self_us, flops = collections.Counter(), collections.Counter()
        for e in prof.key_averages():
            self_us[e.key] += e.self_cpu_time_total; flops[e.key] += e.flops or 0
        total = sum(self_us.values())
        mm_us = sum(v for k, v in self_us.items() if k in MATMUL)
        attn_us = sum(v for k, v in self_us.items() if 'attention' in k or 'softmax' in k)
        print(f"{'bf16 autocast' if bf16 else 'float32'}: {tokens / plain:.1f} tokens/s ({plain:.1f} s, without the profiler);"
              f' matrix products {100 * mm_us / total:.0f}% of self CPU time at {sum(flops[k] for k in MATMUL) / mm_us / 1e3:.0f} GFLOPS,'
              f' attention (SDPA, softmax) {100 * attn_us / total:.0f}%')
        print('  largest ops by self CPU time:', ', '.join(f'{k} {100 * v / total:.0f}%' for k, v in self_us.most_common(8)), flush=True)
