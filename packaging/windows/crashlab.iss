; Inno Setup 6 script: the Windows installer of CrashLab (a per-user or per-machine install
; of the PyInstaller one-folder build, Start menu entry, optional desktop icon, "Open with
; CrashLab" for portfolio .json and holdings .csv files, uninstaller).
;
; Build on Windows, after `pyinstaller --noconfirm --clean build.spec` made dist\CrashLab\:
;   iscc /DAppVersion=0.1.0 packaging\windows\crashlab.iss
; -> dist\CrashLab-<version>-windows-x64-setup.exe
; CI does this on a Windows runner (.github/workflows/release.yml); it cannot be built on Linux.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define AppName "CrashLab"
#define AppExe "CrashLab.exe"
#define Root "..\.."

[Setup]
; a fixed id (uuid5 of org.crashlab.CrashLab): upgrades replace the installed version
AppId={{CE82D4E6-EDC8-5FEC-A2FE-408721C283B6}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=CrashLab
AppPublisherURL=https://crashlab.org
AppCopyright=(c) 2026 CrashLab
VersionInfoVersion={#AppVersion}
VersionInfoProductName={#AppName}
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
; per-user install by default (no administrator rights needed); the dialog offers all users
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir={#Root}\dist
OutputBaseFilename=CrashLab-{#AppVersion}-windows-x64-setup
SetupIconFile={#Root}\resources\icons\app.ico
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ChangesAssociations=yes
CloseApplications=yes

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#Root}\dist\CrashLab\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"; Comment: "See what the next crypto crash does to your holdings"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Registry]
; "Open with > CrashLab" for .json and .csv, without becoming the default app of every JSON
; or CSV file. A file opened this way arrives as the first argument (python main.py FILE).
Root: HKA; Subkey: "Software\Classes\CrashLab.Portfolio"; ValueType: string; ValueName: ""; ValueData: "CrashLab portfolio"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\CrashLab.Portfolio\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#AppExe},0"
Root: HKA; Subkey: "Software\Classes\CrashLab.Portfolio\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""
Root: HKA; Subkey: "Software\Classes\.json\OpenWithProgids"; ValueType: string; ValueName: "CrashLab.Portfolio"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.csv\OpenWithProgids"; ValueType: string; ValueName: "CrashLab.Portfolio"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\SupportedTypes"; ValueType: string; ValueName: ".json"; ValueData: ""; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\SupportedTypes"; ValueType: string; ValueName: ".csv"; ValueData: ""

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent
