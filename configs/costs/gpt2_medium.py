#!/usr/bin/python3
"""Writes the analytic cost models of GPT-2 medium on 8 pipeline stages (gpt2_medium_p8_mb*.json).

The paper-scale projection in the paper experiment simulates PACI and 1F1B-flush on these. Every
number follows from the formulas below and the stated accelerator; none is measured.
"""
import json
import os

D, CONTEXT, LAYERS, VOCAB, HEADS, STAGES = 1024, 1024, 24, 50257, 16, 8
FLOPS = 312e12 * 0.4      # bf16 peak of an A100-class GPU at 40% utilisation
MEMORY_BANDWIDTH = 2.0e12  # bytes/s, for the optimizer step
LINK = {"latency": 1e-5, "bandwidth_bytes_per_second": 1e11}

LAYER_FLOPS_PER_TOKEN = 24 * D * D + 4 * CONTEXT * D  # forward, 2 FLOPs per multiply-add
HEAD_FLOPS_PER_TOKEN = 2 * D * VOCAB                  # the tied LM head
PARAMETERS = LAYERS * 12 * D * D + VOCAB * D + CONTEXT * D
# Stored activations per token per layer, bf16, no recomputation (Korthikanti et al. 2022).
ACTIVATION_BYTES_PER_TOKEN_LAYER = D * 34 + 5 * HEADS * CONTEXT


def cost_model(sequences):
    tokens = sequences * CONTEXT
    # Stages balanced by time, as the reference partitions them: the head weighs ~3.5 layers.
    layer_equivalents = LAYERS + HEAD_FLOPS_PER_TOKEN / LAYER_FLOPS_PER_TOKEN
    forward = (LAYERS * LAYER_FLOPS_PER_TOKEN + HEAD_FLOPS_PER_TOKEN) * tokens / STAGES / FLOPS
    stage_parameters = PARAMETERS / STAGES
    description = (
        f"GPT-2 medium (24 layers, d={D}, {HEADS} heads, context {CONTEXT}, vocabulary {VOCAB}) "
        f"on p={STAGES} stages, micro-batches of {sequences} sequences, on an accelerator doing "
        "312 TFLOP/s in bf16 at 40% utilisation (A100-class; the PACI paper does not name its "
        "hardware). Written by configs/costs/gpt2_medium.py, which states every formula; a "
        "projection, not a measurement.")
    return {"description": description, "p2p": LINK, "stages": [{
        "forward": round(forward, 6),
        "backward_input": round(forward, 6),   # input and weight gradients each cost a forward
        "backward_weight": round(forward, 6),
        "optimizer_step": round(stage_parameters * 48 / MEMORY_BANDWIDTH, 6),  # AdamW, fp32
        "activation_bytes": tokens * D * 2,     # bf16 activations between stages
        "parameter_bytes": int(stage_parameters * 4),
        "optimizer_state_bytes": int(stage_parameters * 8),
        "activation_memory_bytes": int(ACTIVATION_BYTES_PER_TOKEN_LAYER * tokens *
                                       layer_equivalents / STAGES),
    }]}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    for sequences in (16, 8):  # m = 8 and m = 16 at the paper's global batch of 128
        with open(os.path.join(here, f"gpt2_medium_p8_mb{sequences}.json"), "w") as f:
            f.write(json.dumps(cost_model(sequences), indent=2) + "\n")


if __name__ == "__main__":
    main()
