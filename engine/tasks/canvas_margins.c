/* canvas_margins.c — Extend Canvas to a target size or aspect ratio: the
 * left/right/top/bottom margins to give dream_canvas_extend() (see
 * dream.h). Arithmetic only, but it is the one place where the rounding,
 * the anchor and the error messages are decided, so that `dream
 * outpaint --width/--aspect` and both GIMP plug-ins agree to the pixel.
 *
 * Integer arithmetic throughout: an aspect "A:B" is read as the exact
 * fraction (A·1000)/(B·1000) (at most 3 decimals), and the grown side is
 * ceil(other side · A / B) in 64-bit integers, so "16:9" of 900 rows is
 * exactly 1600 columns, never 1601 from a rounding error in a double.
 */
#include "dream.h"

#include <string.h>

enum {
  MAX_SIDE = 65536,          /* as dream_canvas_extend() */
  ASPECT_SCALE = 1000,       /* 3 decimals */
  ASPECT_MAX = 100000        /* each term of A:B at most this */
};

static const struct {
  const char *name;
  dream_anchor anchor;
  int h, v;                  /* where the old picture goes: −1 left/top,
                                0 centre, 1 right/bottom */
} anchors[] = {
  { "center",       DREAM_ANCHOR_CENTER,        0,  0 },
  { "top-left",     DREAM_ANCHOR_TOP_LEFT,     -1, -1 },
  { "top",          DREAM_ANCHOR_TOP,           0, -1 },
  { "top-right",    DREAM_ANCHOR_TOP_RIGHT,     1, -1 },
  { "left",         DREAM_ANCHOR_LEFT,         -1,  0 },
  { "right",        DREAM_ANCHOR_RIGHT,         1,  0 },
  { "bottom-left",  DREAM_ANCHOR_BOTTOM_LEFT,  -1,  1 },
  { "bottom",       DREAM_ANCHOR_BOTTOM,        0,  1 },
  { "bottom-right", DREAM_ANCHOR_BOTTOM_RIGHT,  1,  1 },
};

gboolean
dream_anchor_from_string (const char *name, dream_anchor *anchor, GError **error)
{
  g_return_val_if_fail (anchor != NULL, FALSE);
  if (!name || !*name || g_ascii_strcasecmp (name, "centre") == 0)
    {
      *anchor = DREAM_ANCHOR_CENTER;
      return TRUE;
    }
  for (guint i = 0; i < G_N_ELEMENTS (anchors); i++)
    if (g_ascii_strcasecmp (name, anchors[i].name) == 0)
      {
        *anchor = anchors[i].anchor;
        return TRUE;
      }
  g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
               "Unknown anchor \"%s\": use center, top-left, top, top-right, "
               "left, right, bottom-left, bottom or bottom-right.", name);
  return FALSE;
}

const char *
dream_anchor_to_string (dream_anchor anchor)
{
  for (guint i = 0; i < G_N_ELEMENTS (anchors); i++)
    if (anchors[i].anchor == anchor)
      return anchors[i].name;
  return NULL;
}

/* One term of an aspect ratio: digits, optionally '.' and 1..3 digits,
 * as an integer in thousandths; FALSE for anything else (sign, spaces
 * inside, exponent, empty) or a value over ASPECT_MAX. */
static gboolean
parse_term (const char *s, const char *end, gint64 *out)
{
  gint64 v = 0;
  int decimals = -1;    /* -1: no '.' seen yet */
  gboolean digit = FALSE;

  for (; s < end; s++)
    {
      if (*s == '.' && decimals < 0)
        decimals = 0;
      else if (g_ascii_isdigit (*s))
        {
          if (decimals >= 3)
            return FALSE;
          v = v * 10 + (*s - '0');
          if (decimals >= 0)
            decimals++;
          digit = TRUE;
          if (v > (gint64) ASPECT_MAX * ASPECT_SCALE)
            return FALSE;
        }
      else
        return FALSE;
    }
  if (!digit)
    return FALSE;
  for (int d = MAX (decimals, 0); d < 3; d++)
    v *= 10;
  if (v > (gint64) ASPECT_MAX * ASPECT_SCALE)
    return FALSE;
  *out = v;
  return TRUE;
}

/* "A:B" (spaces around A and B allowed) into a/b in thousandths. */
static gboolean
parse_aspect (const char *aspect, gint64 *a, gint64 *b, GError **error)
{
  char *s = g_strstrip (g_strdup (aspect));
  char *colon = strchr (s, ':');
  gboolean ok = FALSE;

  if (colon && !strchr (colon + 1, ':'))
    {
      char *sa = g_strstrip (g_strndup (s, colon - s));
      char *sb = g_strstrip (g_strdup (colon + 1));
      ok = parse_term (sa, sa + strlen (sa), a)
           && parse_term (sb, sb + strlen (sb), b);
      g_free (sa);
      g_free (sb);
    }
  if (!ok)
    g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                 "Bad aspect ratio \"%s\": give it as WIDTH:HEIGHT with two "
                 "positive numbers, e.g. 16:9, 4:3, 1:1 or 2.39:1.", aspect);
  else if (*a == 0 || *b == 0)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "Bad aspect ratio \"%s\": neither side may be 0.", aspect);
      ok = FALSE;
    }
  g_free (s);
  return ok;
}

/* extra new pixels split by the anchor's position p (−1, 0, 1) */
static void
split_extra (int extra, int p, int *before, int *after)
{
  *before = p < 0 ? 0 : p > 0 ? extra : extra / 2;
  *after = extra - *before;
}

gboolean
dream_canvas_margins (int width, int height,
                      int target_width, int target_height,
                      const char *aspect, dream_anchor anchor,
                      int *left, int *right, int *top, int *bottom,
                      GError **error)
{
  gboolean by_aspect = aspect && *aspect;
  gint64 W, H;
  int h = 0, v = 0, l, r, t, b;
  guint i;

  g_return_val_if_fail (left && right && top && bottom, FALSE);
  for (i = 0; i < G_N_ELEMENTS (anchors); i++)
    if (anchors[i].anchor == anchor)
      break;
  if (i == G_N_ELEMENTS (anchors))
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "Unknown anchor %d.", (int) anchor);
      return FALSE;
    }
  h = anchors[i].h;
  v = anchors[i].v;

  if (width < 1 || height < 1 || width > MAX_SIDE || height > MAX_SIDE)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "The canvas is %d×%d; it must be 1 to %d pixels a side.",
                   width, height, MAX_SIDE);
      return FALSE;
    }
  if (target_width < 0 || target_height < 0)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "The target width and height may not be negative "
                   "(0 keeps that side as it is).");
      return FALSE;
    }
  if (by_aspect && (target_width > 0 || target_height > 0))
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "Give either a target size or an aspect ratio, not both.");
      return FALSE;
    }
  if (!by_aspect && target_width == 0 && target_height == 0)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "Give a target width, a target height or an aspect ratio "
                   "to extend the canvas to.");
      return FALSE;
    }

  if (by_aspect)
    {
      gint64 a, bb;
      if (!parse_aspect (aspect, &a, &bb, error))
        return FALSE;
      /* width/height ≥ a/b (as wide as the ratio or wider): keep the
       * width, grow the height to ceil(width·b/a); else the other way */
      if ((gint64) width * bb >= (gint64) height * a)
        W = width, H = ((gint64) width * bb + a - 1) / a;
      else
        H = height, W = ((gint64) height * a + bb - 1) / bb;
    }
  else
    {
      W = target_width > 0 ? target_width : width;
      H = target_height > 0 ? target_height : height;
      if (W < width || H < height)
        {
          g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                       "The target size %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT
                       " is smaller than the canvas (%d×%d) in its %s: extending "
                       "only grows the canvas, it never crops.", W, H, width, height,
                       W < width && H < height ? "width and height"
                       : W < width ? "width" : "height");
          return FALSE;
        }
    }
  if (W > MAX_SIDE || H > MAX_SIDE)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "The extended canvas would be %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT
                   " pixels; at most %d a side.", W, H, MAX_SIDE);
      return FALSE;
    }
  if (W == width && H == height)
    {
      if (by_aspect)
        g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                     "Nothing to extend: the canvas (%d×%d) already has the "
                     "aspect ratio %s.", width, height, aspect);
      else
        g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                     "Nothing to extend: the canvas is already %d×%d.",
                     width, height);
      return FALSE;
    }

  /* the anchor says where the OLD picture sits: at the left means all
   * the new columns go on the right */
  split_extra ((int) (W - width), h, &l, &r);
  split_extra ((int) (H - height), v, &t, &b);
  *left = l;
  *right = r;
  *top = t;
  *bottom = b;
  return TRUE;
}
