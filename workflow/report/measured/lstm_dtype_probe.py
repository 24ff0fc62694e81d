"""Does cuDNN run an LSTM in bf16 when asked directly (no autocast)? Records the answer and the speed."""

import json
import sys
import time

import torch

out = {}
x = torch.randn(32, 215, 64, device="cuda")
for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16), ("fp16", torch.float16)):
    torch.backends.cudnn.allow_tf32 = False
    lstm = torch.nn.LSTM(64, 1024, batch_first=True).cuda().to(dtype)
    try:
        inp = x.to(dtype).requires_grad_()
        for _ in range(3):
            y, _ = lstm(inp)
            y.float().sum().backward()
        torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(20):
            y, _ = lstm(inp)
            y.float().sum().backward()
        torch.cuda.synchronize()
        out[name] = {"output_dtype": str(y.dtype), "ms_per_fwd_bwd": round((time.perf_counter() - start) / 20 * 1e3, 2)}
    except Exception as error:  # noqa: BLE001
        out[name] = {"fails": f"{type(error).__name__}: {str(error)[:200]}"}
json.dump(out, open(sys.argv[1], "w"), indent=1)
print(json.dumps(out))
