#!/usr/bin/python3
"""
Seed inputs of the fuzz targets (test/fuzz/seeds/<target>/): small valid files of each format, from which
libFuzzer mutates. Run with Debian's python3-torch:  /usr/bin/python3 test/fuzz/make_seeds.py
"""
import io
import json
import os
import pickle
import struct
import zipfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    d = os.path.join(HERE, "seeds", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def torch_bytes(obj, zip_format):
    buf = io.BytesIO()
    torch.save(obj, buf, _use_new_zipfile_serialization=zip_format)
    return buf.getvalue()


def main():
    state = {"conv.weight": torch.arange(6, dtype=torch.float32).view(2, 3), "bn.running_var": torch.ones(2),
             "bn.num_batches_tracked": torch.tensor(3)}
    tiny_zip = torch_bytes(state, True)
    write("torch_checkpoint", "state_dict.pth", tiny_zip)
    write("torch_checkpoint", "state_dict_legacy.pth", torch_bytes(state, False))
    write("pickle", "data.pkl", zipfile.ZipFile(io.BytesIO(tiny_zip)).read("archive/data.pkl"))
    write("pickle", "plain_dict.pkl", pickle.dumps({"a": [1, 2.5, "x", (3, None)], "b": b"\x00\x01"}, protocol=2))

    data = struct.pack("<6f", *range(6)) + struct.pack("<2f", 1, 1)
    header = {"__metadata__": {"format": "supersimplenet", "ssn_config": "{}"},
              "conv.weight": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
              "bn.running_var": {"dtype": "F32", "shape": [2], "data_offsets": [24, 32]}}
    h = json.dumps(header).encode()
    write("safetensors", "tiny.safetensors", struct.pack("<Q", len(h)) + h + data)

    manifest = {"format": "layers-model", "modelTopology": {},
                "weightsManifest": [{"paths": ["s.bin"], "weights": [
                    {"name": "conv1/kernel", "shape": [4, 4], "dtype": "float32"},
                    {"name": "bn_conv1/gamma", "shape": [48], "dtype": "float32"}]}]}
    write("tfjs", "model.json", json.dumps(manifest).encode())


if __name__ == "__main__":
    main()
