/* commands.h — the subcommands of `dream`, one file each in cli/. Each
 * takes argc/argv starting at the command name and returns the exit
 * status (0 ok, 1 error, 2 bad usage). */
#ifndef DREAM_COMMANDS_H
#define DREAM_COMMANDS_H

int cmd_denoise (int argc, char **argv);
int cmd_upscale (int argc, char **argv);
int cmd_run_net (int argc, char **argv);
int cmd_clip_score (int argc, char **argv);
int cmd_sample (int argc, char **argv);
int cmd_inpaint (int argc, char **argv);
int cmd_outpaint (int argc, char **argv);
int cmd_sd_info (int argc, char **argv);
int cmd_describe (int argc, char **argv);
int cmd_generate (int argc, char **argv);
int cmd_img2img (int argc, char **argv);

#endif
