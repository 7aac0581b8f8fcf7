/* dialog-common.c — small helpers shared by the GIMP 3 dialogs (see the
 * header). */
#include <stdarg.h>
#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>

#include "dialog-common.h"

void
dream_dialog_sensitive_if (GimpProcedureDialog *dialog, const char *property,
                           GObject *config, const char *config_property,
                           const char *value)
{
  GimpValueArray *values = gimp_value_array_new (1);
  GValue v = G_VALUE_INIT;

  g_value_init (&v, G_TYPE_STRING);
  g_value_set_string (&v, value);
  gimp_value_array_append (values, &v);
  g_value_unset (&v);
  /* transfer full: the dialog frees `values` */
  gimp_procedure_dialog_set_sensitive_if_in (dialog, property, config, config_property,
                                             values, TRUE);
}

void
dream_dialog_sensitive_if_any (GimpProcedureDialog *dialog, const char *property,
                               GObject *config, const char *config_property,
                               const char *value, ...)
{
  GimpValueArray *values = gimp_value_array_new (2);
  const char *v;
  va_list ap;

  va_start (ap, value);
  for (v = value; v; v = va_arg (ap, const char *))
    {
      GValue gv = G_VALUE_INIT;

      g_value_init (&gv, G_TYPE_STRING);
      g_value_set_string (&gv, v);
      gimp_value_array_append (values, &gv);
      g_value_unset (&gv);
    }
  va_end (ap);
  /* transfer full, as in dream_dialog_sensitive_if: never touch `values`
   * again */
  gimp_procedure_dialog_set_sensitive_if_in (dialog, property, config, config_property,
                                             values, TRUE);
}
