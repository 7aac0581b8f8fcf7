/* safetensors.h — engine-internal reader and writer of .safetensors files.
 *
 * File format: 8-byte little-endian header length N, then N bytes of JSON
 * {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]},
 *  ..., "__metadata__": {"key": "string value", ...}}, then the data
 * section; offsets are relative to the start of the data section.
 *
 * The reader memory-maps the file and validates everything before handing
 * out a pointer: header length within the file, valid UTF-8 JSON object,
 * known dtypes, shape products matching byte ranges (no overflow), ranges
 * inside the data section, no overlapping ranges, no duplicate names,
 * metadata values that are strings. Any violation is a DREAM_ERROR_MODEL
 * with a message naming the file and the problem. Tensor data pointers
 * point into the mapping (zero copy) and stay valid until dream_st_close.
 */
#ifndef DREAM_SAFETENSORS_H
#define DREAM_SAFETENSORS_H

#include <glib.h>
#include <stdint.h>

typedef enum {
  DREAM_DTYPE_F64, DREAM_DTYPE_F32, DREAM_DTYPE_F16, DREAM_DTYPE_BF16,
  DREAM_DTYPE_I64, DREAM_DTYPE_I32, DREAM_DTYPE_I16, DREAM_DTYPE_I8,
  DREAM_DTYPE_U8, DREAM_DTYPE_BOOL,
} dream_dtype;

#define DREAM_ST_MAX_DIMS 8

typedef struct {
  const char *name;                 /* owned by the file */
  dream_dtype dtype;
  int n_dims;                       /* 0 (scalar) .. DREAM_ST_MAX_DIMS */
  int64_t shape[DREAM_ST_MAX_DIMS];
  int64_t n_elements;               /* product of shape (1 for scalars) */
  const void *data;                 /* into the mapping, maybe unaligned */
  size_t n_bytes;
} dream_st_tensor;

typedef struct dream_st_file dream_st_file;

/* Opens and validates a file (mmap). NULL + GError on any problem. */
dream_st_file *dream_st_open (const char *path, GError **error);

/* Same, on a buffer the caller keeps alive until close (used by the fuzzer
 * and tests). No copy is made. */
dream_st_file *dream_st_open_memory (const void *data, size_t size,
                                     GError **error);

void dream_st_close (dream_st_file *file);

int dream_st_count (const dream_st_file *file);
const dream_st_tensor *dream_st_get (const dream_st_file *file, int index);
/* NULL if absent. */
const dream_st_tensor *dream_st_find (const dream_st_file *file,
                                      const char *name);
/* A __metadata__ string, or NULL. Owned by the file. */
const char *dream_st_metadata (const dream_st_file *file, const char *key);

/* Size in bytes of one element. */
size_t dream_dtype_size (dream_dtype dtype);
const char *dream_dtype_name (dream_dtype dtype);

/* Converts a floating tensor (F32, F16, BF16, F64) to n float32 values in
 * dst; n must equal t->n_elements. FALSE + DREAM_ERROR_MODEL otherwise. */
gboolean dream_st_to_f32 (const dream_st_tensor *t, float *dst, int64_t n,
                          GError **error);

/* Checks that a tensor exists, is floating and has exactly this shape;
 * returns it or NULL + DREAM_ERROR_MODEL naming the tensor and both shapes.
 * `shape` has n_dims entries. */
const dream_st_tensor *dream_st_expect (const dream_st_file *file,
                                        const char *name, int n_dims,
                                        const int64_t *shape, GError **error);

/* Writes F32 tensors (and optional metadata, a NULL-terminated key, value,
 * key, value... list; may be NULL) to a new file. Writes to a temporary
 * name in the same folder and renames, so a failure leaves no partial
 * file. */
typedef struct {
  const char *name;
  int n_dims;
  int64_t shape[DREAM_ST_MAX_DIMS];
  const float *data;
} dream_st_out;

gboolean dream_st_write (const char *path, const dream_st_out *tensors,
                         int n_tensors, const char *const *metadata,
                         GError **error);

/* ---- views: tensors of other files under new names ----------------------
 *
 * A view is a dream_st_file whose tensors are tensors of other open files
 * (its parts), each under a name of the caller's choosing and optionally
 * another shape with the same element count (e.g. a Linear (out, in)
 * seen as a 1×1 conv (out, in, 1, 1)). Data pointers still point into the
 * parts' mappings: nothing is copied. Every lookup function above works
 * on a view. Used to show a diffusers folder under the single-file LDM
 * names the loaders know (io/sd_checkpoint.h). */

/* An empty view; `name` is shown in messages. */
dream_st_file *dream_st_view_new (const char *name);

/* The view takes ownership of `part` (closed with the view). */
void dream_st_view_own (dream_st_file *view, dream_st_file *part);

/* Adds tensor t (of a part, or of any file that outlives the view) as
 * `name`; shape NULL keeps t's shape, else n_dims entries with the same
 * element count. FALSE + DREAM_ERROR_MODEL if the name is taken or the
 * shape does not fit. */
gboolean dream_st_view_add (dream_st_file *view, const char *name,
                            const dream_st_tensor *t, int n_dims,
                            const int64_t *shape, GError **error);

/* Sets a __metadata__ entry of the view (copied). */
void dream_st_view_set_metadata (dream_st_file *view, const char *key,
                                 const char *value);

#endif /* DREAM_SAFETENSORS_H */
