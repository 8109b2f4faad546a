; The Windows installer of Tally, the polling station's app.
;
; It installs for every user of the laptop (per machine, as an
; administrator) into Program Files\Tally, adds a Start-menu entry and an
; entry in Apps & features, and installs silently with /S for mass
; installation (/D=DIR, last on the command line, changes the folder).
;
; The uninstaller removes exactly what the installer put there. It never
; touches the station's data: each user's %APPDATA%\tally (station.db,
; supervisor.db and what lies beside them) is the record of the count and
; stays on the laptop until the commission's procedure says otherwise.
;
; scripts/release/build.sh runs makensis with:
;   -DVERSION=0.1.0       the version, from FyneApp.toml
;   -DVIVERSION=0.1.0.1   the same as four numbers (version and build)
;   -DEXE=FILE            tally.exe, built and signed
;   -DICON=FILE           the icon, made from Icon.png
;   -DOUTFILE=FILE        the installer to write
; The release check reads this file too: every message box must have a
; silent default (/SD), and the uninstaller may only delete under $INSTDIR
; and the Start menu.

!ifdef VERSION & VIVERSION & EXE & ICON & OUTFILE
!else
  !error "define VERSION, VIVERSION, EXE, ICON and OUTFILE (see the header)"
!endif

Target amd64-unicode
Unicode true
SetCompressor /SOLID lzma
RequestExecutionLevel admin
ManifestDPIAware true
; The installed file keeps the build's time (SOURCE_DATE_EPOCH), not the
; time of this run.
SetDateSave on

!include "MUI2.nsh"
!include "LogicLib.nsh"
!include "FileFunc.nsh"

!define APP_KEY "Software\Tally"
!define UNINSTALL_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\Tally"

Name "Tally ${VERSION}"
OutFile "${OUTFILE}"
InstallDir "$PROGRAMFILES64\Tally"
InstallDirRegKey HKLM "${APP_KEY}" "InstallDir"
BrandingText "Tally ${VERSION}"
ShowInstDetails show
ShowUninstDetails show

VIProductVersion "${VIVERSION}"
VIFileVersion "${VIVERSION}"
VIAddVersionKey /LANG=0 "ProductName" "Tally"
VIAddVersionKey /LANG=0 "ProductVersion" "${VERSION}"
VIAddVersionKey /LANG=0 "FileVersion" "${VERSION}"
VIAddVersionKey /LANG=0 "FileDescription" "Tally ${VERSION} setup"
VIAddVersionKey /LANG=0 "LegalCopyright" "The election commission"

!define MUI_ICON "${ICON}"
!define MUI_UNICON "${ICON}"
!define MUI_ABORTWARNING

!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES

; The app's languages; Windows' own display language picks one, with no
; question asked.
!insertmacro MUI_LANGUAGE "Albanian"
!insertmacro MUI_LANGUAGE "English"
!insertmacro MUI_LANGUAGE "SerbianLatin"
!insertmacro MUI_LANGUAGE "Serbian"
!insertmacro MUI_LANGUAGE "Turkish"

Function .onInit
  SetShellVarContext all
  SetRegView 64
  UserInfo::GetAccountType
  Pop $0
  ${If} $0 != "Admin"
    MessageBox MB_ICONSTOP "Tally is installed for every user of this computer: run the installer as an administrator." /SD IDOK
    SetErrorLevel 740 ; ERROR_ELEVATION_REQUIRED
    Quit
  ${EndIf}
FunctionEnd

Section "Tally" SecTally
  SectionIn RO
  SetOutPath "$INSTDIR"
  ; A running Tally keeps tally.exe open: close it before upgrading.
  File "/oname=tally.exe" "${EXE}"
  WriteUninstaller "$INSTDIR\uninstall.exe"

  CreateShortcut "$SMPROGRAMS\Tally.lnk" "$INSTDIR\tally.exe" "" "$INSTDIR\tally.exe" 0

  WriteRegStr HKLM "${APP_KEY}" "InstallDir" "$INSTDIR"
  WriteRegStr HKLM "${APP_KEY}" "Version" "${VERSION}"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayName" "Tally"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "Publisher" "The election commission"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayIcon" "$INSTDIR\tally.exe,0"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKLM "${UNINSTALL_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKLM "${UNINSTALL_KEY}" "NoModify" 1
  WriteRegDWORD HKLM "${UNINSTALL_KEY}" "NoRepair" 1
  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  WriteRegDWORD HKLM "${UNINSTALL_KEY}" "EstimatedSize" $0
SectionEnd

Function un.onInit
  SetShellVarContext all
  SetRegView 64
  UserInfo::GetAccountType
  Pop $0
  ${If} $0 != "Admin"
    MessageBox MB_ICONSTOP "Run the uninstaller as an administrator." /SD IDOK
    SetErrorLevel 740 ; ERROR_ELEVATION_REQUIRED
    Quit
  ${EndIf}
FunctionEnd

Section "Uninstall"
  ; Only what the installer wrote. Not %APPDATA%\tally: the station's data.
  Delete "$INSTDIR\tally.exe"
  Delete "$INSTDIR\uninstall.exe"
  ; Removed only when empty: anything else in it is not ours to delete.
  RMDir "$INSTDIR"
  Delete "$SMPROGRAMS\Tally.lnk"
  DeleteRegKey HKLM "${UNINSTALL_KEY}"
  DeleteRegKey HKLM "${APP_KEY}"
SectionEnd
