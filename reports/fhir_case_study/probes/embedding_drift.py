# How far fine-tuning moved SmolLM2's token embeddings (pretrained GGUF vs standard-6400, whose weights live in
# runs/fhir-report, not kept), and the cosine of word pairs the test split needs. Run from the repository root.
import os, torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from stepdistill_nb.training import smollm2_gguf
d, f = os.path.split(smollm2_gguf())
E0 = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, dtype=torch.float32).get_input_embeddings().weight.detach()
ft = 'runs/fhir-report/students/standard-6400'
E1, tok = AutoModelForCausalLM.from_pretrained(ft, dtype=torch.float32).get_input_embeddings().weight.detach(), AutoTokenizer.from_pretrained(ft)
print(f'relative change of the embedding matrix: {((E1 - E0).norm() / E0.norm()).item():.4f}')
vec = lambda E, w: E[tok(' ' + w, add_special_tokens=False)['input_ids']].mean(0)
cos = lambda a, b: torch.nn.functional.cosine_similarity(a, b, 0).item()
for a, b in [('issued', 'published'), ('lasting', 'took'), ('before', 'preceding'), ('oldest', 'earliest'), ('vaccines', 'shots'), ('encounters', 'contacts')]:
    print(f'{a} / {b}: cosine pretrained {cos(vec(E0, a), vec(E0, b)):.3f}, fine-tuned {cos(vec(E1, a), vec(E1, b)):.3f}')
