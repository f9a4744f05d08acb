/* A TFLite external delegate that claims no nodes, loaded through LiteRT's load_delegate.
 *
 * It implements the delegate plugin ABI LiteRT's Python load_delegate calls (the one libedgetpu.so.1
 * exports): tflite_plugin_create_delegate(keys, values, count, report_error) returns a TfLiteDelegate,
 * tflite_plugin_destroy_delegate frees it. Prepare is called by the interpreter with the graph; this one
 * replaces no node subset, so every node stays on the built-in kernels. It counts its calls and keeps the
 * options it was given, so a test can see that LiteRT really loaded and applied it.
 *
 * TfLiteDelegate's layout is that of tensorflow/lite/core/c/common.h (stable C ABI).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef enum { kTfLiteOk = 0, kTfLiteError = 1 } TfLiteStatus;
typedef struct TfLiteContext TfLiteContext;
typedef struct TfLiteTensor TfLiteTensor;
typedef int TfLiteBufferHandle;

typedef struct TfLiteDelegate {
  void* data_;
  TfLiteStatus (*Prepare)(TfLiteContext* context, struct TfLiteDelegate* delegate);
  TfLiteStatus (*CopyFromBufferHandle)(TfLiteContext*, struct TfLiteDelegate*, TfLiteBufferHandle, TfLiteTensor*);
  TfLiteStatus (*CopyToBufferHandle)(TfLiteContext*, struct TfLiteDelegate*, TfLiteBufferHandle, TfLiteTensor*);
  void (*FreeBufferHandle)(TfLiteContext*, struct TfLiteDelegate*, TfLiteBufferHandle*);
  int64_t flags;
  void* opaque_delegate_builder;
} TfLiteDelegate;

int prepare_calls = 0;
int created = 0;
int destroyed = 0;
char last_option[256] = "";

static TfLiteStatus claim_nothing(TfLiteContext* context, TfLiteDelegate* delegate) {
  (void)context;
  (void)delegate;
  prepare_calls++;
  return kTfLiteOk;
}

/* count is an int: LiteRT's Python load_delegate declares it so (ctypes.c_int). */
TfLiteDelegate* tflite_plugin_create_delegate(char** keys, char** values, int count,
                                              void (*report_error)(const char*)) {
  (void)report_error;
  for (int i = 0; i < count; i++) {
    size_t used = strlen(last_option);
    if (used + strlen(keys[i]) + strlen(values[i]) + 3 < sizeof last_option) {
      strcat(last_option, keys[i]);
      strcat(last_option, "=");
      strcat(last_option, values[i]);
      strcat(last_option, ";");
    }
  }
  TfLiteDelegate* delegate = calloc(1, sizeof *delegate);
  delegate->Prepare = claim_nothing;
  created++;
  return delegate;
}

void tflite_plugin_destroy_delegate(TfLiteDelegate* delegate) {
  destroyed++;
  free(delegate);
}
