// Picks the reader by the first bytes of the file, whatever its name says.
#include <algorithm>

#include "common/error.h"
#include "io/binary_file.h"
#include "io/checkpoint.h"

namespace ssn {

NamedTensors read_any_checkpoint(const std::string& path) {
  std::string head;
  uint64_t size = 0;
  {
    const BinaryFile file(path);
    size = file.size();
    head = file.read_string(0, std::min<uint64_t>(size, 16));
  }
  if (head.empty())
    throw Error(ErrorCode::Checkpoint, "'" + path + "' is empty (0 bytes)",
                "The file is incomplete. Get it again, or re-export it.");
  const auto byte = [&](size_t i) { return i < head.size() ? static_cast<uint8_t>(head[i]) : 0; };

  // PyTorch zip archive (torch.save default) or legacy stream (protocol-2 pickle of the magic number).
  if (head.compare(0, 4, "PK\x03\x04") == 0) return read_torch_checkpoint(path);
  if (byte(0) == 0x80 && byte(1) == 0x02 && byte(2) == 0x8a && byte(3) == 0x0a &&
      head.compare(4, 10, "\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19") == 0)
    return read_torch_checkpoint(path);
  // safetensors: a sane little-endian header length followed by a JSON object. Checked before plain JSON
  // because a header length may itself start with the byte '{'.
  if (size >= 10 && byte(8) == '{') {
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | byte(static_cast<size_t>(i));
    if (header_len >= 2 && header_len <= size - 8) return read_safetensors(path).tensors;
  }
  size_t i = 0;
  while (i < head.size() && (head[i] == ' ' || head[i] == '\t' || head[i] == '\n' || head[i] == '\r')) ++i;
  if (i < head.size() && head[i] == '{') return read_tfjs_layers_model(path);
  // Other pickles (another protocol) get the torch reader's precise diagnosis.
  if (byte(0) == 0x80) return read_torch_checkpoint(path);

  throw Error(ErrorCode::Checkpoint,
              "'" + path +
                  "' is not a checkpoint format we read: expected a PyTorch .pth/.pt (zip or legacy), a "
                  "safetensors file or a TF.js model.json",
              "Convert the weights with torch.save(model.state_dict(), path) or safetensors.");
}

}  // namespace ssn
