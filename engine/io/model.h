/* model.h — engine-internal view of a loaded model (dream_model).
 *
 * A model owns its safetensors mapping and an architecture-specific
 * network struct built from it (models/<arch>.c). The registry
 * (io/registry.c) reads the "architecture" metadata entry and hands the
 * file to the matching loader.
 */
#ifndef DREAM_MODEL_H
#define DREAM_MODEL_H

#include "dream.h"
#include "io/safetensors.h"

struct dream_model {
  char *path;
  char *arch;                 /* from __metadata__ "architecture" */
  int channels;               /* image channels the network works on */
  dream_st_file *file;        /* the mapping; weights may point into it */
  void *net;                  /* e.g. dream_ffdnet * */
  void (*net_free) (void *net);
};

/* A data file (e.g. "describe-vocabulary.json") in the folders
 * dream_model_find() searches, in its order; newly allocated, or NULL +
 * DREAM_ERROR_IO. (io/model_list.c) */
char *dream_data_find (const char *file, GError **error);

#endif /* DREAM_MODEL_H */
