#include "engine_slot.h"

#include "api/process_settings.h"

namespace ssn_binding {

EngineSlot::~EngineSlot() {
  engine.reset();
  ssn::release_freed_memory();
}

int64_t engine_native_bytes(ssn::Engine& engine) {
  int64_t bytes = 0;
  for (const auto& t : engine.network()->parameters()) bytes += t.numel() * static_cast<int64_t>(t.element_size());
  for (const auto& t : engine.network()->buffers()) bytes += t.numel() * static_cast<int64_t>(t.element_size());
  return bytes;
}

}  // namespace ssn_binding
