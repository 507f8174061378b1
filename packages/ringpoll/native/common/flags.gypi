# Compiler and linker settings shared by the library addon and the bench addon (included by both
# binding.gyp files). RINGPOLL_SANITIZE=1 builds with ASan+UBSan.
{
  "variables": {
    "sanitize%": "<!(node -p \"process.env.RINGPOLL_SANITIZE ? 1 : 0\")",
    "liburing_version%": "<!(pkg-config --modversion liburing 2>/dev/null || echo unknown)"
  },
  "target_defaults": {
    "defines": [
      "NAPI_VERSION=8",
      "NODE_ADDON_API_DISABLE_DEPRECATED",
      # A native method that throws in a worker being terminated: napi_throw fails there, and without
      # this node-addon-api throws again from its catch handler, which aborts the whole process.
      "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS",
      "RINGPOLL_LIBURING_VERSION=\"<(liburing_version)\"",
      "_GNU_SOURCE"
    ],
    "cflags!": ["-fno-exceptions"],
    "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=c++17"],
    "cflags": ["-fvisibility=hidden", "-Wall", "-Wextra", "-Werror"],
    "cflags_cc": [
      "-std=c++20",
      "-fexceptions",
      "-fvisibility=hidden",
      "-Wall", "-Wextra", "-Werror",
      "-isystem", "<!(node -p \"require('path').dirname(require.resolve('node-addon-api/napi.h'))\")"
    ],
    "libraries": ["-luring", "-lpthread"],
    "conditions": [
      ["sanitize==1", {
        "cflags_cc": ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined", "-fno-omit-frame-pointer", "-O1", "-g"],
        "ldflags": ["-fsanitize=address,undefined"]
      }]
    ]
  }
}
