#include "gradscope/doctor/finding.hpp"

namespace gradscope {

std::string_view severity_name(Severity severity) {
  switch (severity) {
    case Severity::kInfo:
      return "info";
    case Severity::kWarning:
      return "warning";
    case Severity::kCritical:
      return "critical";
  }
  return "warning";
}

nlohmann::json to_json(const Finding& finding) {
  nlohmann::json prescriptions = nlohmann::json::array();
  for (const Prescription& p : finding.prescriptions) {
    prescriptions.push_back({{"advice", p.advice}, {"flags", p.flags}});
  }
  return {
      {"code", finding.code},
      {"severity", std::string(severity_name(finding.severity))},
      {"summary", finding.summary},
      {"run", finding.run},
      {"evidence", finding.evidence},
      {"data", finding.evidence_data.is_null() ? nlohmann::json::object() : finding.evidence_data},
      {"prescriptions", prescriptions}};
}

}  // namespace gradscope
