package redistest

// Launch exposes launch to the black-box tests.
func Launch(dir string, port int) (*Server, error) { return launch(dir, port, volatile) }
