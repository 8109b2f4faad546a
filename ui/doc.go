// Package ui holds the Fyne screens of the station and supervisor modes.
// Screens receive a fyne.App or fyne.Window and call app/ only.
package ui
