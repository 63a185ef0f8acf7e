// An independent check of zkcred's signed notes with Go's golang.org/x/mod/sumdb/note
// (Debian: golang-golang-x-mod-dev), run by tests/ledger/test_interop_go.py.
//
//	note_check open VKEY FILE   verify FILE under VKEY; print "verified NAME HASH" and
//	                            "unverified NAME HASH" per signature line, then the text
//	note_check sign NAME TEXTFILE   make a key, sign TEXTFILE; print the vkey, then the note
package main

import (
	"crypto/rand"
	"fmt"
	"os"

	"golang.org/x/mod/sumdb/note"
)

func fail(what string, err error) {
	fmt.Printf("%s: %v\n", what, err)
	os.Exit(1)
}

func main() {
	switch os.Args[1] {
	case "open":
		v, err := note.NewVerifier(os.Args[2])
		if err != nil {
			fail("vkey", err)
		}
		msg, err := os.ReadFile(os.Args[3])
		if err != nil {
			fail("read", err)
		}
		n, err := note.Open(msg, note.VerifierList(v))
		if err != nil {
			fail("open", err)
		}
		for _, s := range n.Sigs {
			fmt.Printf("verified %s %08x\n", s.Name, s.Hash)
		}
		for _, s := range n.UnverifiedSigs {
			fmt.Printf("unverified %s %08x\n", s.Name, s.Hash)
		}
		fmt.Print(n.Text)
	case "sign":
		skey, vkey, err := note.GenerateKey(rand.Reader, os.Args[2])
		if err != nil {
			fail("key", err)
		}
		signer, err := note.NewSigner(skey)
		if err != nil {
			fail("signer", err)
		}
		text, err := os.ReadFile(os.Args[3])
		if err != nil {
			fail("read", err)
		}
		msg, err := note.Sign(&note.Note{Text: string(text)}, signer)
		if err != nil {
			fail("sign", err)
		}
		fmt.Println(vkey)
		fmt.Print(string(msg))
	}
}
