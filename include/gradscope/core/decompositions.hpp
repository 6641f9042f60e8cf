// Eigen's decompositions (QR, eigenvalues, SVD), for the few files that need them: everything else
// includes only Eigen/Core through types.hpp, which keeps the build fast.
#pragma once

#include "gradscope/core/types.hpp"

// Same false-positive guard as in types.hpp (GCC bug 105593 with AVX-512).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Eigenvalues>
#include <Eigen/QR>
#include <Eigen/SVD>
#pragma GCC diagnostic pop
