package phone

import (
	"strconv"

	"github.com/nyaruka/phonenumbers"
)

// CountryCode returns the calling code of region (ISO 3166-1 alpha-2, upper-case) as
// digits, "1" for US, "44" for GB; "" for a region phonenumbers does not know.
func CountryCode(region string) string {
	cc := phonenumbers.GetCountryCodeForRegion(region)
	if cc == 0 {
		return ""
	}
	return strconv.Itoa(cc)
}

// NationalPrefix returns the digits dialled before a national number inside region
// ("0" in GB and DE, "1" in US), or "" when it has none or is unknown.
func NationalPrefix(region string) string {
	return phonenumbers.GetNddPrefixForRegion(region, true)
}

// InternationalPrefix returns the digits dialled before a country code to call abroad
// from region ("011" in US, "00" in GB), or "" when it is unknown or not one fixed
// string of digits.
func InternationalPrefix(region string) string {
	loadTables()
	m := metaByID[region]
	if m == nil {
		return ""
	}
	p := m.GetPreferredInternationalPrefix()
	if p == "" {
		p = m.GetInternationalPrefix()
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return ""
		}
	}
	return p
}
