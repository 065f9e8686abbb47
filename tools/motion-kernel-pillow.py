#!/usr/bin/env python3
"""Regenerates test/fixtures/motion-pillow.json: motionblur.Kernel._createKernel's Pillow steps (line,
GaussianBlur, LANCZOS resize, convert L) run by real Pillow on paths drawn by our generator, so the test
suite can check the TypeScript port of those steps bit for bit without Python.

    npx tsx -e "import('./src/operators/kernels.ts').then(m => console.log(JSON.stringify(
      [[61,0.5,1],[61,0.5,2],[31,0.7,4],[61,0,7]].map(([s,i,seed]) => ({size:s, intensity:i, seed,
      path: m.motionBlurKernel(s,i,seed).path})))))" > /tmp/paths.json
    python3 tools/motion-kernel-pillow.py /tmp/paths.json > test/fixtures/motion-pillow.json
"""
import json, sys
import PIL
from PIL import Image, ImageDraw, ImageFilter

cases = json.load(open(sys.argv[1]))
out = {"pillow": PIL.__version__, "cases": []}
for c in cases:
    size = c["size"]
    big = (2 * size, 2 * size)
    diag = (big[0] ** 2 + big[1] ** 2) ** 0.5
    img = Image.new("RGB", big)
    ImageDraw.Draw(img).line(xy=[tuple(p) for p in c["path"]], width=int(diag / 150))
    img = img.filter(ImageFilter.GaussianBlur(radius=int(diag * 0.01)))
    img = img.resize((size, size), resample=Image.LANCZOS).convert("L")
    out["cases"].append({**c, "image": list(img.getdata())})
json.dump(out, sys.stdout)
