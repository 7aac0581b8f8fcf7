"""Small safetensors writer shared by the super-resolution converters.

    from st_io import write_safetensors, sha256_file
    write_safetensors(path, [(name, numpy_array), ...], {'key': 'value'})

Arrays are written in their own dtype (float32 -> F32, float16 -> F16),
little-endian, in the given order, header padded to 8 bytes; the file is
written under a temporary name and renamed, so a failure leaves no partial
file.  No dependency beyond numpy.
"""

import hashlib
import json
import os
import struct

import numpy as np

_DTYPES = {np.dtype('float32'): ('F32', '<f4'),
           np.dtype('float16'): ('F16', '<f2')}


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {}, [], 0
    for name, arr in tensors:
        arr = np.asarray(arr)
        if arr.dtype not in _DTYPES:
            raise ValueError('%s: dtype %s not supported' % (name, arr.dtype))
        tag, le = _DTYPES[arr.dtype]
        data = np.ascontiguousarray(arr, dtype=le).tobytes()
        header[name] = {'dtype': tag, 'shape': list(arr.shape),
                        'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header['__metadata__'] = {k: str(v) for k, v in metadata.items()}
    hjson = json.dumps(header, separators=(',', ':')).encode('utf-8')
    hjson += b' ' * ((8 - len(hjson) % 8) % 8)
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(struct.pack('<Q', len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()
