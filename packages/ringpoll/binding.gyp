{
  "includes": ["native/common/flags.gypi"],
  "targets": [
    {
      "target_name": "ringpoll",
      "sources": ["<!@(node -p \"require('fs').readdirSync('native').filter(f => f.endsWith('.cpp')).map(f => 'native/' + f).join(' ')\")"],
      "include_dirs": ["native", "native/common"]
    }
  ]
}
