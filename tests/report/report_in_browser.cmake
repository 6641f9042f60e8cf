# ctest's report.InBrowser: runs the three-regimes experiment (--quick), makes the HTML report
# and opens it in headless Chromium (report_in_browser.mjs). Run with cmake -P and
#   -DGRADSCOPE=<gradscope executable> -DASSETS=<build>/report -DNODE=<node> -DWORK=<folder>
#   -DSCRIPT=<report_in_browser.mjs>
# The screenshot is WORK/report.png.
foreach(var GRADSCOPE ASSETS NODE WORK SCRIPT)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "report_in_browser.cmake: -D${var}= is required")
  endif()
endforeach()
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    string(REPLACE ";" " " command "${ARGN}")
    message(FATAL_ERROR "failed (${status}): ${command}")
  endif()
endfunction()

run(${GRADSCOPE} experiment run three-regimes --quick --out ${WORK}/run)
run(${GRADSCOPE} report ${WORK}/run -o ${WORK}/report.html --assets ${ASSETS})
foreach(svg ${WORK}/run/three-regimes/profiles.svg)
  if(NOT EXISTS ${svg})
    message(FATAL_ERROR "report did not write the SVG copy ${svg}")
  endif()
endforeach()
run(${NODE} ${SCRIPT} ${ASSETS} ${WORK}/report.html ${WORK}/run ${WORK}/report.png)
