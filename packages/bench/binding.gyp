# The bench engine's addon. It shares the library's build flags and uapi compat headers; the
# library package sits next to this one both in the workspace (packages/) and when installed
# (node_modules/), hence ../ringpoll.
{
  "includes": ["../ringpoll/native/common/flags.gypi"],
  "targets": [
    {
      "target_name": "ringpoll_bench",
      "sources": ["<!@(node -p \"require('fs').readdirSync('native').filter(f => f.endsWith('.cpp')).map(f => 'native/' + f).join(' ')\")"],
      "include_dirs": ["native", "../ringpoll/native/common"]
    }
  ]
}
