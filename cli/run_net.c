/* run_net.c — placeholder until the command is implemented. */
#include "commands.h"

#include <stdio.h>

int
cmd_run_net (int argc, char **argv)
{
  (void) argc;
  fprintf (stderr, "dream %s: not implemented yet\n", argv[0]);
  return 2;
}
