"""Dump an HDF5 file's structure and values with h5py, as JSON on stdout.

Usage: python h5dump.py FILE [FILE ...]

Prints one JSON object per file, mapping each file name to:

  {"groups":   {"/path": {"attrs": {NAME: ATTR, ...}}, ...},
   "datasets": {"/path": {"dtype": "<f4", "shape": [..], "hex": "..."}, ...}}

where ATTR is
  {"class": "string", "vlen": bool, "cset": "ascii"|"utf8", "pad": "nullterm"|"nullpad"|"spacepad",
   "size": N (fixed-length only), "shape": [] or [n], "value": str or [str, ...]}
or
  {"class": "float"|"integer", "dtype": "<f8", "shape": [..], "value": [numbers]}

Datasets' "hex" is their raw little-endian element bytes, so values compare
exactly. The Rust tests compare their own reading of the file against this.
"""

import json
import sys

import h5py
import numpy as np

PADS = {h5py.h5t.STR_NULLTERM: "nullterm", h5py.h5t.STR_NULLPAD: "nullpad", h5py.h5t.STR_SPACEPAD: "spacepad"}
CSETS = {h5py.h5t.CSET_ASCII: "ascii", h5py.h5t.CSET_UTF8: "utf8"}


def text(v):
    return v.decode("utf8") if isinstance(v, bytes) else str(v)


def attr_entry(obj, name):
    aid = obj.attrs.get_id(name)
    tid = aid.get_type()
    shape = list(aid.shape)
    value = obj.attrs[name]
    if isinstance(tid, h5py.h5t.TypeStringID):
        entry = {
            "class": "string",
            "vlen": bool(tid.is_variable_str()),
            "cset": CSETS[tid.get_cset()],
            "pad": PADS[tid.get_strpad()],
            "shape": shape,
        }
        if not tid.is_variable_str():
            entry["size"] = tid.get_size()
        if shape:
            entry["value"] = [text(v) for v in np.asarray(value).ravel()]
        else:
            entry["value"] = text(value)
        return entry
    if isinstance(tid, h5py.h5t.TypeFloatID):
        cls = "float"
    elif isinstance(tid, h5py.h5t.TypeIntegerID):
        cls = "integer"
    else:
        return {"class": type(tid).__name__, "shape": shape}
    arr = np.asarray(value)
    return {"class": cls, "dtype": arr.dtype.str, "shape": shape, "value": arr.ravel().tolist()}


def dump(path):
    groups = {}
    datasets = {}
    with h5py.File(path, "r") as f:

        def visit(name, obj):
            full = "/" + name if name else "/"
            if isinstance(obj, h5py.Group):
                groups[full] = {"attrs": {k: attr_entry(obj, k) for k in obj.attrs}}
            else:
                data = obj[()]
                arr = np.asarray(data)
                datasets[full] = {
                    "dtype": arr.dtype.str,
                    "shape": list(obj.shape),
                    "hex": arr.astype(arr.dtype.newbyteorder("<")).tobytes().hex(),
                    "attrs": sorted(obj.attrs.keys()),
                }

        visit("", f)
        f.visititems(visit)
    return {"groups": groups, "datasets": datasets}


def main():
    out = {p: dump(p) for p in sys.argv[1:]}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
