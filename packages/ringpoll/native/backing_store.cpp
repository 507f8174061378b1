#include "backing_store.hpp"

#include <cstring>

v8::Local<v8::Value> V8Local(napi_value v) {
  v8::Local<v8::Value> local;
  std::memcpy(static_cast<void*>(&local), &v, sizeof v);
  return local;
}

Store StoreOf(napi_value v) {
  v8::Local<v8::Value> value = V8Local(v);
  if (value->IsArrayBufferView()) return value.As<v8::ArrayBufferView>()->Buffer()->GetBackingStore();
  if (value->IsArrayBuffer()) return value.As<v8::ArrayBuffer>()->GetBackingStore();
  if (value->IsSharedArrayBuffer()) return value.As<v8::SharedArrayBuffer>()->GetBackingStore();
  return nullptr;
}
