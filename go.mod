module github.com/dncguard/dncguard

go 1.26.0

require github.com/nyaruka/phonenumbers v1.8.1

require (
	github.com/stretchr/testify v1.12.1 // indirect
	golang.org/x/text v0.23.0 // indirect
	google.golang.org/protobuf v1.36.11 // indirect
)
