# Warnings are errors on gradscope's own targets; third-party headers come in as SYSTEM includes.
set(GRADSCOPE_WARNINGS
  -Wall -Wextra -Wpedantic -Werror
  -Wshadow -Wold-style-cast -Wdouble-promotion -Wnon-virtual-dtor -Woverloaded-virtual
  -Wcast-align -Wimplicit-fallthrough -Wmissing-declarations -Wformat=2 -Wundef)
