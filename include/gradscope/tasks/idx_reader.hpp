// IDX files (LeCun's MNIST format, also used by Fashion-MNIST), gzipped or plain.
//
//   images: big-endian u32 magic 0x00000803 (unsigned bytes, 3 dims), u32 count, u32 rows,
//           u32 cols, then count * rows * cols pixels, row-major per image
//   labels: big-endian u32 magic 0x00000801 (unsigned bytes, 1 dim), u32 count, then count bytes
// A file must hold exactly what its header declares: a short file and trailing bytes are both
// errors, since either means the download or the package is damaged.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gradscope/core/types.hpp"

namespace gradscope {

// The images and labels of one split, as stored (pixels 0..255, row-major rows x cols per image).
struct IdxDataset {
  Index count = 0;
  Index rows = 0;
  Index cols = 0;
  std::vector<std::uint8_t> pixels;  // count * rows * cols
  std::vector<std::uint8_t> labels;  // count
};

// Reads a gzipped (or plain) IDX image file and its label file, validating magic numbers, sizes,
// that the two counts match and that labels are below `classes` (1..256). Every problem is a
// bad-input Error naming the file and what is wrong; a missing file names the Debian package to
// install.
IdxDataset read_idx_pair(const std::string& images_path, const std::string& labels_path,
                         int classes = 10);

}  // namespace gradscope
